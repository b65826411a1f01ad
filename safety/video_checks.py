"""Temporal checks on a clip: sampled frame scores, segments, escalation, flashing.

Works on a SampledClip (`clip_sampling`: thumbnails of every frame, the sampled frames), made
while the clip was decoded once, or from frames already decoded (`check_clip`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from safety.audio_checks import audio_checks
from safety.clip_sampling import (
    LUMA_WEIGHTS,
    MAX_CUTS,
    SAMPLE_FPS,
    SCENE_CHANGE,
    ClipSampler,
    SampledClip,
    scene_cuts,
)
from safety.drift import drift_signal
from safety.flash import MODEL as FLASH_MODEL
from safety.flash import flash_check_thumbnails, validated_frames
from safety.hashes import HashMatcher
from safety.image_classifier import NSFW, ImageClassifier
from safety.signals import Segment, Signal

SEGMENT_THRESHOLD = 0.5  # frames at or above this (after smoothing) form segments
# Timeline segments: every per-frame category from this score up, below its threshold too, so a
# reviewer's timeline shows scores rising before they cross it.
TIMELINE_FLOOR = 0.1
ESCALATION_MARGIN = 0.15  # the clip may score this much above the approved photo
ESCALATION_FLOOR = 0.2  # Yahoo's "safe below 0.2": rises below it are not escalations
ESCALATION = "escalation.nsfw"


@dataclass
class ClipReport:
    """What the output gate learned about a clip: signals for the policy, segments for reviewers."""

    signals: list[Signal]
    segments: list[Segment]
    frame_signals: list[Signal] = field(default_factory=list)  # per sampled frame, for audit
    timeline: list[Segment] = field(default_factory=list)  # every category, from TIMELINE_FLOOR


def scene_changes(
    thumbnails: np.ndarray, threshold: float = SCENE_CHANGE, limit: int = MAX_CUTS
) -> np.ndarray:
    """Indices of frames that differ sharply from the one before (cuts), largest first, capped."""
    if len(thumbnails) < 2:
        return np.empty(0, dtype=np.int64)
    change = np.abs(np.diff(thumbnails @ LUMA_WEIGHTS, axis=0)).mean(axis=(1, 2))
    return scene_cuts(change, threshold, limit)


def sample_clip(
    frames: np.ndarray,
    fps: float,
    sample_fps: float = SAMPLE_FPS,
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
) -> SampledClip:
    """A SampledClip of frames already decoded (T, H, W, 3) uint8 RGB."""
    frames = validated_frames(frames, fps)
    sampler = ClipSampler(fps, sample_fps)
    for frame in frames:
        sampler.add(frame)
    return sampler.finish(audio, sample_rate)


def smooth_scores(scores: np.ndarray, radius: int = 1) -> np.ndarray:
    """Centered moving maximum of a moving average: keeps peaks, bridges one-sample dips."""
    if len(scores) < 3 or radius < 1:
        return scores.astype(np.float64)
    padded = np.pad(scores.astype(np.float64), radius, mode="edge")
    kernel = np.ones(2 * radius + 1) / (2 * radius + 1)
    mean = np.convolve(padded, kernel, mode="valid")
    return np.maximum(mean, scores)


def temporal_segments(
    category: str,
    times: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    sample_step: float,
    clip_end: float,
) -> list[Segment]:
    """Merge consecutive samples at or above `threshold` into segments with start, end and peak."""
    segments: list[Segment] = []
    above = scores >= threshold
    i = 0
    while i < len(scores):
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(scores) and above[j + 1]:
            j += 1
        start, end = _span(times, i, j, sample_step, clip_end)
        segments.append(
            Segment(category, round(start, 3), round(end, 3), float(scores[i : j + 1].max()))
        )
        i = j + 1
    return segments


def timeline_segments(
    frame_signals: Sequence[Signal],
    sample_step: float,
    clip_end: float,
    floor: float = TIMELINE_FLOOR,
) -> list[Segment]:
    """Segments of every category scored per frame, from `floor` up (smoothed like `segments`)."""
    by_category: dict[str, list[Signal]] = {}
    for signal in frame_signals:
        if signal.evaluated and signal.start_s is not None:
            by_category.setdefault(signal.category, []).append(signal)
    timeline: list[Segment] = []
    for category, frames in sorted(by_category.items()):
        frames.sort(key=lambda s: s.start_s or 0.0)
        times = np.array([s.start_s for s in frames], dtype=np.float64)
        scores = smooth_scores(np.array([s.score for s in frames]))
        timeline += temporal_segments(category, times, scores, floor, sample_step, clip_end)
    return timeline


def _span(
    times: np.ndarray, first: int, last: int, step: float, clip_end: float
) -> tuple[float, float]:
    """Time covered by samples first..last: half a step either side, the clip's ends at its ends."""
    start = 0.0 if first == 0 else max(0.0, float(times[first]) - step / 2)
    end = clip_end if last == len(times) - 1 else min(clip_end, float(times[last]) + step / 2)
    return start, end


def _input_score(input_signals: Sequence[Signal], category: str) -> float | None:
    scores = [s.score for s in input_signals if s.category == category and s.evaluated]
    return max(scores) if scores else None


def check_clip(
    frames: np.ndarray,
    fps: float,
    *,
    classifier: ImageClassifier,
    sample_fps: float = SAMPLE_FPS,
    input_signals: Sequence[Signal] = (),
    segment_threshold: float = SEGMENT_THRESHOLD,
    input_photo: Image.Image | None = None,
    hash_matcher: HashMatcher | None = None,
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
) -> ClipReport:
    """`check_sampled` on frames already decoded (T, H, W, 3) uint8 RGB."""
    return check_sampled(
        sample_clip(frames, fps, sample_fps, audio, sample_rate),
        classifier=classifier,
        input_signals=input_signals,
        segment_threshold=segment_threshold,
        input_photo=input_photo,
        hash_matcher=hash_matcher,
    )


def check_sampled(
    clip: SampledClip,
    *,
    classifier: ImageClassifier,
    input_signals: Sequence[Signal] = (),
    segment_threshold: float = SEGMENT_THRESHOLD,
    input_photo: Image.Image | None = None,
    hash_matcher: HashMatcher | None = None,
) -> ClipReport:
    """Score sampled frames in one batch, build segments, and add clip-level, flash and escalation
    signals; the clip-level `nsfw` score is the raw peak (a single bad frame is not smoothed away).

    Frames are sampled at `sample_fps` plus at scene cuts. Optional checks: `input_photo` adds
    `drift`; `hash_matcher` adds `hash.<bank>` for sampled frames; the clip's `sample_rate` (with
    its `audio`, or None for a clip without sound) adds the audio signals.
    """
    fps, sample_fps, clip_end = clip.fps, clip.sample_fps, clip.clip_end
    if clip.count == 0:
        missing = [
            Signal(NSFW, 0.0, classifier.model, evaluated=False, detail="clip has no frames")
        ]
        no_frames = [
            Signal(c, 0.0, FLASH_MODEL, evaluated=False, detail="no frames to check")
            for c in ("flash.general", "flash.red")
        ]
        return ClipReport(missing + no_frames, [], [])

    times, sampled = clip.times, clip.frames
    frame_signals = classifier.score_frames(sampled, times)
    raw = np.array([s.score for s in frame_signals])
    smoothed = smooth_scores(raw)
    step = 1.0 / sample_fps if sample_fps > 0 else clip_end
    segments = temporal_segments(NSFW, times, smoothed, segment_threshold, step, clip_end)

    peak_i = int(np.argmax(raw))
    peak_range = next(
        ((s.start_s, s.end_s) for s in segments if s.start_s <= times[peak_i] <= s.end_s),
        _span(times, peak_i, peak_i, step, clip_end),
    )
    signals = [
        Signal(
            NSFW,
            float(raw[peak_i]),
            classifier.model,
            start_s=round(float(peak_range[0]), 3),
            end_s=round(float(peak_range[1]), 3),
            detail=f"peak of {len(raw)} frames sampled at {sample_fps:g} fps, "
            f"at {times[peak_i]:.2f} s; {len(segments)} segment(s) >= {segment_threshold}",
        )
    ]
    signals.append(_escalation(input_signals, raw, times, step, clip_end, classifier.model))
    signals.extend(flash_check_thumbnails(clip.thumbnails, fps))
    if input_photo is not None:
        signals.append(drift_signal(input_photo, sampled, times))
    if hash_matcher is not None:
        signals.extend(hash_matcher.match_frames(sampled, times))
    if clip.sample_rate is not None:
        signals.extend(audio_checks(clip.audio, clip.sample_rate))
    timeline = timeline_segments(frame_signals, step, clip_end)
    return ClipReport(signals, segments, frame_signals, timeline)


def _escalation(
    input_signals: Sequence[Signal],
    raw: np.ndarray,
    times: np.ndarray,
    step: float,
    clip_end: float,
    model: str,
) -> Signal:
    """How far the clip's nsfw score rose above the approved photo's (0 when it did not)."""
    approved = _input_score(input_signals, NSFW)
    if approved is None:
        return Signal(
            ESCALATION,
            0.0,
            model,
            evaluated=False,
            detail="no evaluated nsfw score for the input photo to compare with",
        )
    baseline = max(approved, ESCALATION_FLOOR)
    rise = max(0.0, float(raw.max()) - baseline)
    over = np.flatnonzero(raw > baseline + ESCALATION_MARGIN)
    if len(over):
        start, end = _span(times, int(over[0]), int(over[-1]), step, clip_end)
        detail = (
            f"clip rises to {raw.max():.2f} against the approved photo's {approved:.2f} "
            f"(margin {ESCALATION_MARGIN}) from {start:.2f} s to {end:.2f} s"
        )
        return Signal.spanning(ESCALATION, rise, model, start, end, detail)
    return Signal(
        ESCALATION,
        round(rise, 4),
        model,
        detail=f"clip peak {raw.max():.2f} within {ESCALATION_MARGIN} of the approved "
        f"photo's {approved:.2f}",
    )
