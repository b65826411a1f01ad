"""The safety side of the input and output gates: every configured check, in one call each.

The composition root owns the (lazily loaded) components and passes in the ones it has; a
missing optional component simply adds no signals, and an unconfigured CLIP classifier (or a
NudeNet detector without its optional extra) adds "not evaluated" signals. Policies then decide
over the combined list.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from safety.age import MINOR, AgeEstimator
from safety.clip_classifier import ClipClassifier
from safety.clip_sampling import SampledClip
from safety.faces import FaceBox, FaceDetector
from safety.hashes import HashMatcher
from safety.image_classifier import ImageClassifier
from safety.nudenet_detector import NudeNetDetector
from safety.people import PersonDetector
from safety.prompt_classifier import PromptClassifier
from safety.signals import Signal
from safety.video_checks import ClipReport, check_sampled


def input_signals(
    photo: Image.Image | None,
    prompt: str | None,
    *,
    images: ImageClassifier,
    prompts: PromptClassifier | None = None,
    faces: FaceDetector | None = None,
    ages: AgeEstimator | None = None,
    people: PersonDetector | None = None,
    hashes: HashMatcher | None = None,
    clip: ClipClassifier | None = None,
    nudenet: NudeNetDetector | None = None,
) -> list[Signal]:
    """Signals for the input stage: photo (nsfw, faces and their apparent ages, people, hash
    banks, CLIP, NudeNet) and prompt.

    The prompt is read on a thread of its own while the photo's checks run: the two models
    share the two cores better than either uses them alone (96 -> 74 ms for the sample photo
    and a prompt, quiet). An error in either still reaches the caller.
    """
    signals: list[Signal] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prompt-check") as pool:
        read = pool.submit(prompts.classify, prompt) if prompt and prompts is not None else None
        if photo is not None:
            signals += images.score_photo(photo)
            found: list[FaceBox] = [] if faces is None else faces.find(photo)
            if faces is not None:
                signals += faces.detect(photo, found)
            if ages is not None:
                signals += _ages(ages, photo, found, faces)
            if people is not None:
                signals += people.detect(photo)
            if hashes is not None:
                signals += hashes.match_photo(photo)
            if clip is not None:
                signals += clip.score_photo(photo)
            if nudenet is not None:
                signals += nudenet.score_photo(photo)
        if read is not None:
            signals += read.result()
    return signals


def _ages(
    ages: AgeEstimator, photo: Image.Image, found: list[FaceBox], faces: FaceDetector | None
) -> list[Signal]:
    """The faces' apparent ages; not evaluated when no face detector is there to find them."""
    if faces is None or not faces.available:
        why = "not configured" if faces is None else faces.unavailable
        detail = f"no face detector to find the faces: {why}"
        return [Signal(MINOR, 0.0, ages.model, evaluated=False, detail=detail)]
    return ages.detect(photo, found)


def output_report(
    sampled: SampledClip,
    *,
    images: ImageClassifier,
    approved: Sequence[Signal] = (),
    input_photo: Image.Image | None = None,
    hashes: HashMatcher | None = None,
    clip: ClipClassifier | None = None,
    nudenet: NudeNetDetector | None = None,
) -> ClipReport:
    """Temporal checks on a sampled clip, plus CLIP and NudeNet scores of its sampled frames."""
    report = check_sampled(
        sampled, classifier=images, input_signals=approved, input_photo=input_photo,
        hash_matcher=hashes,
    )  # fmt: skip
    extra: list[ClipClassifier | NudeNetDetector] = [c for c in (clip, nudenet) if c is not None]
    if sampled.count:
        for classifier in extra:
            report.signals.extend(classifier.score_frames(sampled.frames, sampled.times))
    return report
