"""Gate helpers: every configured check in one call, with real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from policies.pack import PolicyPack
from safety.age import AgeEstimator
from safety.clip_classifier import ClipClassifier
from safety.faces import FaceDetector
from safety.gates import input_signals, output_report
from safety.hashes import HashBank, HashMatcher, pdq_hash
from safety.image_classifier import ImageClassifier
from safety.people import PersonDetector
from safety.prompt_classifier import PromptClassifier
from safety.video_checks import sample_clip

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "falcon9-dscovr-launch.jpg"


@pytest.fixture(scope="module")
def images() -> ImageClassifier:
    return ImageClassifier(threads=2)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(SAMPLE).convert("RGB")


def test_input_gate_signals_for_a_benign_photo_are_labelled(
    images: ImageClassifier, photo: Image.Image
) -> None:
    bank = HashBank("known-bad", [pdq_hash(Image.new("RGB", (64, 64), "red"))[0]])
    signals = input_signals(
        photo,
        None,
        images=images,
        faces=FaceDetector(),
        people=PersonDetector(),
        hashes=HashMatcher([bank]),
        clip=ClipClassifier(None),
    )
    categories = {s.category for s in signals}
    assert {"nsfw", "faces.count", "people.count", "hash.known-bad", "clip.weapons"} <= categories
    assert PolicyPack.default().decide("input", signals, job_id="j").action == "label"


def test_the_input_gate_estimates_the_age_of_the_faces_it_found(images: ImageClassifier) -> None:
    child = Image.open(SAMPLE.parent / "faces" / "ages" / "child-3-9.jpg").convert("RGB")
    signals = input_signals(child, None, images=images, faces=FaceDetector(), ages=AgeEstimator())
    by_category = {s.category: s for s in signals}
    assert by_category["faces.count"].score > 0
    assert by_category["faces.minor"].evaluated and by_category["faces.minor"].score >= 0.5


def test_without_a_face_detector_the_age_is_not_evaluated(images: ImageClassifier) -> None:
    child = Image.open(SAMPLE.parent / "faces" / "ages" / "child-3-9.jpg").convert("RGB")
    absent = FaceDetector(model_path=Path("/nonexistent/face.tflite"))
    signals = input_signals(child, None, images=images, faces=absent, ages=AgeEstimator())
    (minor,) = [s for s in signals if s.category == "faces.minor"]
    assert not minor.evaluated and "no face detector" in minor.detail


def test_without_any_face_check_the_age_is_reported_not_evaluated(images: ImageClassifier) -> None:
    child = Image.open(SAMPLE.parent / "faces" / "ages" / "child-3-9.jpg").convert("RGB")
    signals = input_signals(child, None, images=images, faces=None, ages=AgeEstimator())
    (minor,) = [s for s in signals if s.category == "faces.minor"]
    assert not minor.evaluated


def test_a_photo_in_a_bank_is_blocked(images: ImageClassifier, photo: Image.Image) -> None:
    bank = HashBank("known-bad", [pdq_hash(photo)[0]])
    signals = input_signals(photo, None, images=images, hashes=HashMatcher([bank]))
    decision = PolicyPack.default().decide("input", signals, job_id="j")
    assert decision.action == "block" and "input.hash.block" in decision.rules_fired


def test_output_gate_report_for_a_still_clip_of_the_photo(
    images: ImageClassifier, photo: Image.Image
) -> None:
    frames = np.repeat(np.asarray(photo.resize((256, 144)))[None], 48, axis=0)
    approved = images.score_photo(photo)
    audio = (0.02 * np.random.default_rng(0).standard_normal((2, 96_000))).astype(np.float32)
    report = output_report(
        sample_clip(frames, 24.0, audio=audio, sample_rate=48_000),
        images=images,
        approved=approved,
        input_photo=photo,
        clip=ClipClassifier(None),
    )
    categories = {s.category for s in report.signals}
    assert {
        "nsfw",
        "escalation.nsfw",
        "flash.general",
        "flash.red",
        "drift",
        "audio.loudness",
        "audio.spike",
        "clip.violence",
    } <= categories
    assert PolicyPack.default().decide("output", report.signals, job_id="j").action == "label"


def test_the_prompt_is_read_beside_the_photo(
    images: ImageClassifier, photo: Image.Image, prompt_classifier: PromptClassifier
) -> None:
    # The prompt runs on its own thread while the photo is checked: both sets of signals arrive,
    # and the policy weighs them together.
    signals = input_signals(
        photo,
        "a man stabs a woman in the throat",
        images=images,
        prompts=prompt_classifier,
        faces=FaceDetector(),
    )
    categories = {s.category for s in signals}
    assert {"nsfw", "faces.count", "prompt.violence"} <= categories
    assert PolicyPack.default().decide("input", signals, job_id="j").action in {"block", "review"}


class _DownPromptModel:
    def classify(self, prompt: str) -> list:
        raise RuntimeError("the prompt model is down")


def test_a_prompt_model_that_fails_fails_the_gate(
    images: ImageClassifier, photo: Image.Image
) -> None:
    # Read on another thread, its error still reaches the gate, which then fails closed
    # (tests/test_journey_fail_closed.py).
    with pytest.raises(RuntimeError, match="down"):
        input_signals(photo, "clouds drifting", images=images, prompts=_DownPromptModel())  # type: ignore[arg-type]
