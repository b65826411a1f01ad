"""NudeNet detector (optional AGPL extra): fails closed without it, agrees with the package with it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from policies.pack import PolicyPack
from safety.gates import input_signals, output_report
from safety.image_classifier import ImageClassifier
from safety.nudenet_detector import EXPOSED, EXPOSED_CLASSES, UNAVAILABLE, NudeNetDetector
from safety.video_checks import sample_clip

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
BENIGN = SAMPLES / "falcon9-dscovr-launch.jpg"
FACES = (SAMPLES / "astronaut-eileen-collins.png", SAMPLES / "eval" / "grace-hopper.jpg")


@pytest.fixture(scope="module")
def detector() -> NudeNetDetector:
    pytest.importorskip("nudenet", reason="nudenet is an optional (AGPL-3.0) extra")
    found = NudeNetDetector(threads=2)
    assert found.available
    return found


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(BENIGN).convert("RGB")


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_without_the_extra_every_signal_is_not_evaluated_and_nudenet_is_never_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "nudenet" or m.startswith("nudenet.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "nudenet", None)  # any import of it now raises ImportError
    detector = NudeNetDetector()
    assert not detector.available
    photo_signals = detector.score_photo(Image.new("RGB", (32, 32)))
    frame_signals = detector.score_frames(np.zeros((3, 8, 8, 3), np.uint8), np.arange(3.0))
    for signals in (photo_signals, frame_signals):
        assert [(s.category, s.evaluated, s.detail) for s in signals] == [
            (EXPOSED, False, UNAVAILABLE)
        ]
    assert sys.modules["nudenet"] is None
    pack = PolicyPack.from_yaml(
        'version: "t"\nstages:\n  input:\n    rules:\n      - {id: nude, category: '
        f"{EXPOSED}, threshold: 0.5, action: block, require: true}}\n"
        "  output: {default_action: allow, rules: []}\n"  # a pack defines every stage
    )
    assert pack.decide("input", photo_signals, job_id="j").action == "review"


def test_detector_agrees_with_the_package_on_scores_and_boxes(detector: NudeNetDetector) -> None:
    # The package's own detector (fed RGB) through its Python decoding loop and NMS: the
    # strongest box per class must be ours, so our vectorised decoding and box mapping are right.
    from nudenet import NudeDetector  # type: ignore[import-untyped]

    reference = NudeDetector()
    images = [_rgb(path) for path in FACES]
    scores, boxes = detector.class_detections(images)
    compared = 0
    for i, image in enumerate(images):
        for found in reference.detect(image.copy()):
            j = detector.labels.index(found["class"])
            assert scores[i, j] == pytest.approx(found["score"], abs=0.01)
            assert np.abs(boxes[i, j] - np.array(found["box"])).max() <= 3
            compared += 1
    assert compared >= 2  # both photos have a detected face


def test_benign_photo_scores_low_with_the_strongest_box_in_detail(
    detector: NudeNetDetector, photo: Image.Image
) -> None:
    [signal] = detector.score_photo(photo)
    assert signal.category == EXPOSED and signal.evaluated
    assert signal.model.startswith("nudenet-320n@")
    assert 0.0 <= signal.score < 0.2
    detail = json.loads(signal.detail)
    assert detail["class"] in EXPOSED_CLASSES
    x, y, w, h = detail["box"]
    assert 0 <= x and 0 <= y and x + w <= photo.width and y + h <= photo.height


def test_odd_photos_are_scored(detector: NudeNetDetector, photo: Image.Image) -> None:
    odd = [
        photo.convert("L"),
        photo.convert("RGBA"),
        photo.convert("CMYK"),
        Image.new("RGB", (1, 1)),
        Image.new("RGB", (3, 900), "white"),
    ]
    for image in odd:
        [signal] = detector.score_photo(image)
        assert signal.evaluated and 0.0 <= signal.score <= 1.0


def test_frames_report_the_peak_at_its_time_and_batching_changes_nothing(
    detector: NudeNetDetector, photo: Image.Image
) -> None:
    faces = Image.fromarray(_rgb(FACES[0])).resize((320, 180))
    still = np.asarray(photo.resize((320, 180)))
    frames = np.stack([still] * 20 + [np.asarray(faces)])  # 21 frames: two batches of 16
    frames = frames[np.r_[0:7, 20, 7:20]]  # the odd frame out at index 7
    times = np.arange(len(frames)) / 2.0
    per_frame = [detector.score_photo(Image.fromarray(f))[0].score for f in frames]
    [signal] = detector.score_frames(frames, times)
    peak = int(np.argmax(per_frame))
    assert signal.score == pytest.approx(per_frame[peak], abs=1e-4)
    assert signal.start_s == signal.end_s == times[peak]
    assert json.loads(signal.detail)["frame"] == peak
    assert detector.score_frames(frames[:0], times[:0])[0].evaluated is False
    with pytest.raises(ValueError, match="timestamps"):
        detector.score_frames(frames, times[:3])


def test_gates_add_nudenet_signals_for_the_photo_and_the_sampled_frames(
    detector: NudeNetDetector, photo: Image.Image
) -> None:
    images = ImageClassifier(threads=2)
    signals = input_signals(photo, None, images=images, nudenet=detector)
    assert [s.evaluated for s in signals if s.category == EXPOSED] == [True]
    frames = np.repeat(np.asarray(photo.resize((256, 144)))[None], 48, axis=0)
    report = output_report(sample_clip(frames, 24.0), images=images, nudenet=detector)
    [signal] = [s for s in report.signals if s.category == EXPOSED]
    assert signal.evaluated
    assert signal.start_s in {s.start_s for s in report.frame_signals}


def test_frames_that_are_not_rgb_are_refused(detector: NudeNetDetector) -> None:
    with pytest.raises(ValueError, match="RGB"):
        detector.score_frames(np.zeros((2, 8, 8), np.uint8), np.arange(2.0))
