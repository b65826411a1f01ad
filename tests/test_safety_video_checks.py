"""Image classifier and temporal clip checks, with the real Open NSFW model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from safety.clip_sampling import sample_times
from safety.image_classifier import ImageClassifier
from safety.signals import Signal
from safety.video_checks import (
    SEGMENT_THRESHOLD,
    check_clip,
    smooth_scores,
    temporal_segments,
    timeline_segments,
)

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "falcon9-dscovr-launch.jpg"
FPS = 24.0
# A flat skin tone the model scores ~0.46: higher than the benign photo, below review.
WARM = (180, 135, 115)


@pytest.fixture(scope="module")
def classifier() -> ImageClassifier:
    return ImageClassifier(threads=2)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(SAMPLE).convert("RGB")


def _clip_of(photo: Image.Image, seconds: float = 5.0) -> np.ndarray:
    frame = np.asarray(photo.resize((160, 90)))
    return np.repeat(frame[None], int(seconds * FPS), axis=0).copy()


def test_benign_photo_scores_low(classifier: ImageClassifier, photo: Image.Image) -> None:
    (signal,) = classifier.score_photo(photo)
    assert signal.category == "nsfw" and signal.model == "open-nsfw@1.0.0"
    assert signal.score < 0.2 and signal.evaluated and signal.start_s is None


def test_frames_are_scored_one_signal_each_at_their_time(
    classifier: ImageClassifier, photo: Image.Image
) -> None:
    frames = _clip_of(photo)[:3]
    signals = classifier.score_frames(frames, np.array([0.0, 0.5, 1.0]))
    assert [s.start_s for s in signals] == [0.0, 0.5, 1.0]
    assert all(s.start_s == s.end_s and s.score < 0.2 for s in signals)


def test_sampling_at_2_fps_takes_ten_frames_of_a_5_s_clip() -> None:
    indices, times = sample_times(120, FPS, 2.0)
    assert list(indices) == list(range(0, 120, 12)) and times[-1] == pytest.approx(4.5)


def test_segments_merge_consecutive_samples_with_start_end_and_peak() -> None:
    times = np.arange(10) * 0.5
    scores = np.array([0.1, 0.1, 0.7, 0.9, 0.6, 0.1, 0.1, 0.8, 0.1, 0.1])
    segments = temporal_segments("nsfw", times, scores, 0.5, 0.5, 5.0)
    assert [(s.start_s, s.end_s, s.peak) for s in segments] == [
        (0.75, 2.25, 0.9),
        (3.25, 3.75, 0.8),
    ]


def test_smoothing_bridges_a_one_sample_dip_but_keeps_peaks() -> None:
    smoothed = smooth_scores(np.array([0.0, 0.9, 0.2, 0.9, 0.0]))
    assert smoothed[1] == pytest.approx(0.9) and smoothed[2] > 0.5


def test_benign_clip_has_no_segments_and_passes(
    classifier: ImageClassifier, photo: Image.Image
) -> None:
    (approved,) = classifier.score_photo(photo)
    report = check_clip(_clip_of(photo), FPS, classifier=classifier, input_signals=[approved])
    signals = {s.category: s for s in report.signals}
    assert report.segments == [] and len(report.frame_signals) == 10
    assert signals["nsfw"].score < 0.2
    assert signals["escalation.nsfw"].score == 0.0
    assert signals["flash.general"].score == 0.0 and signals["flash.red"].score == 0.0


def test_clip_worse_than_the_approved_photo_escalates_with_its_time_range(
    classifier: ImageClassifier, photo: Image.Image
) -> None:
    (approved,) = classifier.score_photo(photo)
    frames = _clip_of(photo)
    frames[72:] = WARM  # from 3 s on, the clip turns into something the model scores higher
    report = check_clip(
        frames, FPS, classifier=classifier, input_signals=[approved], segment_threshold=0.3
    )
    signals = {s.category: s for s in report.signals}
    escalation = signals["escalation.nsfw"]
    assert escalation.score >= 0.15
    assert escalation.start_s == pytest.approx(2.75) and escalation.end_s == pytest.approx(5.0)
    (segment,) = report.segments
    assert segment.start_s == pytest.approx(2.75) and segment.end_s == pytest.approx(5.0)
    assert signals["nsfw"].start_s == segment.start_s and signals["nsfw"].score == segment.peak


def test_without_an_input_score_escalation_is_not_evaluated(
    classifier: ImageClassifier, photo: Image.Image
) -> None:
    report = check_clip(_clip_of(photo, 1.0), FPS, classifier=classifier)
    (escalation,) = [s for s in report.signals if s.category == "escalation.nsfw"]
    assert not escalation.evaluated


def test_clip_with_no_frames_reports_nothing_evaluated(classifier: ImageClassifier) -> None:
    report = check_clip(np.zeros((0, 90, 160, 3), np.uint8), FPS, classifier=classifier)
    assert report.signals and all(not s.evaluated for s in report.signals)
    assert report.segments == []


def test_flashing_clip_is_reported_by_check_clip(classifier: ImageClassifier) -> None:
    frames = np.zeros((48, 90, 160, 3), dtype=np.uint8)
    frames[::2] = 255
    report = check_clip(
        frames, FPS, classifier=classifier, input_signals=[Signal("nsfw", 0.01, classifier.model)]
    )
    assert {s.category: s.score for s in report.signals}["flash.general"] == 1.0


def test_odd_frame_sizes_are_checked(classifier: ImageClassifier) -> None:
    frames = np.random.default_rng(0).integers(0, 255, (30, 7, 5, 3), dtype=np.uint8)
    report = check_clip(frames, 29.97, classifier=classifier)
    assert {s.category for s in report.signals} >= {"nsfw", "flash.general", "flash.red"}


def test_float_or_grayscale_frames_are_refused(classifier: ImageClassifier) -> None:
    with pytest.raises(ValueError, match="uint8"):
        check_clip(np.zeros((4, 8, 8, 3), np.float32), 24.0, classifier=classifier)
    with pytest.raises(ValueError, match="RGB"):
        check_clip(np.zeros((4, 8, 8), np.uint8), 24.0, classifier=classifier)


def test_timeline_shows_every_category_below_its_threshold() -> None:
    frames = [
        Signal(category, score, "m", start_s=t, end_s=t)
        for t, scores in enumerate([(0.0, 0.05), (0.2, 0.3), (0.35, 0.4), (0.0, 0.0), (0.0, 0.0)])
        for category, score in zip(("nsfw", "clip.weapons"), scores, strict=True)
    ]
    timeline = timeline_segments(frames, 1.0, 5.0)
    assert {s.category for s in timeline} == {"nsfw", "clip.weapons"}
    assert all(s.peak < SEGMENT_THRESHOLD for s in timeline)
    nsfw = [s for s in timeline if s.category == "nsfw"]
    assert [(s.start_s, s.end_s, s.peak) for s in nsfw] == [(0.5, 3.5, 0.35)]  # smoothed tail


def test_escalating_clip_has_a_timeline_below_the_segment_threshold(
    classifier: ImageClassifier, photo: Image.Image
) -> None:
    frames = _clip_of(photo)
    frames[72:] = WARM  # Open NSFW ~0.46: under the 0.5 segment threshold
    report = check_clip(frames, FPS, classifier=classifier)
    assert report.segments == []
    (rising,) = [s for s in report.timeline if s.category == "nsfw"]
    assert rising.end_s == pytest.approx(5.0) and 0.1 <= rising.peak < 0.5
