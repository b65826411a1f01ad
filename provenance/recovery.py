"""Find the original manifest of a clip that lost it: watermark first, then fingerprint.

The copy is decoded once, frame by frame, keeping only what the two readers need (the running
luma statistics for the watermark, one small frame per second for the fingerprint), so memory
stays small whatever the clip's length. Decoding stops after MAX_SECONDS. Bars found by the
watermark's reader are cut off the fingerprint's frames too, and the fingerprint is tried with
each mirror undone, so a mirrored or letterboxed copy still hashes like its original.

Only the watermark recovers a clip's own manifest: unmarked clips made from the same photo as a
registered clip match its fingerprint too, so a fingerprint match alone is reported as related
content from the same source (`Recovery.related`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import av
import cv2
import numpy as np

from provenance.errors import CorruptMediaError
from provenance.fingerprint import HASH_SIZE, MIRRORS, is_sampled, mirrored_hashes
from provenance.watermark_decode import WatermarkReading
from provenance.watermark_shots import ShotStats

if TYPE_CHECKING:
    from provenance.repository import ManifestRepository, RegistryEntry

MAX_SECONDS = 60.0  # longer uploads are judged on their first minute
SHORT_SECONDS = 1.0  # shorter copies average too few frames for a sure watermark reading
FrameHook = Callable[[int, int, float], None]  # (width, height, seconds) of each decoded frame
SMALL_PIXELS = 160  # copies with a shorter side than this keep too few pixels per cell


@dataclass
class ClipSignals:
    """What a decoded copy says about its origin."""

    watermark: WatermarkReading
    fingerprint: list[str] = field(default_factory=list)  # the picture's PDQ hashes, as is
    frames: int = 0
    # The hashes with each of MIRRORS undone (in its order; the first is `fingerprint`).
    variants: list[list[str]] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # why a reading may be missing, in words
    padding: str | None = None  # the bars cut off the picture, in words


@dataclass(frozen=True)
class Recovery:
    """A registry entry found for a copy, and how."""

    entry: RegistryEntry
    source: str  # watermark | fingerprint
    detail: str
    transform: tuple[str, ...] = ()  # the edits undone to match, in words
    confidence: float = 0.0  # 0..1

    @property
    def related(self) -> bool:
        """A fingerprint match only: content from the same source, not this clip's manifest."""
        return self.source != "watermark"


def read_signals(stream: BinaryIO, *, on_frame: FrameHook | None = None) -> ClipSignals:
    """Decode the video track of `stream` once; read its watermark and fingerprint.

    `on_frame(width, height, seconds)` hears of each frame before it is read, and may raise to
    stop decoding (a stranger's clip over its budget)."""
    stream.seek(0)
    sampled: list[np.ndarray] = []
    count, short_side = 0, 0
    try:
        with av.open(stream, mode="r") as container:
            if not container.streams.video:
                raise CorruptMediaError("the file has no video track to recover provenance from")
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            fps = float(video.average_rate or video.guessed_rate or 24)
            stats = ShotStats(fps)
            for frame in container.decode(video):
                if on_frame is not None:
                    on_frame(frame.width, frame.height, float(frame.time or 0.0))
                rgb = frame.to_ndarray(format="rgb24")
                stats.add(rgb)
                short_side = min(rgb.shape[:2])
                if is_sampled(count, fps):
                    sampled.append(cv2.resize(rgb, HASH_SIZE, interpolation=cv2.INTER_AREA))
                count += 1
                if count >= MAX_SECONDS * fps:
                    break
    except av.FFmpegError as error:
        raise CorruptMediaError(f"the video cannot be decoded ({error})") from error
    reading = stats.detect()
    box = stats.whole.picture()
    variants = [] if box is None else _picture_hashes(sampled, box.shares())
    limits = [reading.unreadable] if reading.unreadable else []
    if count < SHORT_SECONDS * fps:
        limits.append(f"the clip is only {count / fps:.1f} s long")
    if 0 < short_side < SMALL_PIXELS:
        limits.append(f"the picture is only {short_side} pixels high")
    if box is not None and stats.whole.still():
        # One picture shown for the whole clip: no frames to average the codec's noise out of
        # the mark, and nothing that moves to tell it from a photo.
        limits.append("the picture never moves (a still image)")
    padding = None if box is None else box.bars()
    fingerprint = variants[0] if variants else []
    return ClipSignals(reading, fingerprint, count, variants, limits, padding)


def _picture_hashes(
    sampled: list[np.ndarray], shares: tuple[float, float, float, float]
) -> list[list[str]]:
    """The sampled frames' pictures (bars cut off) hashed with each of MIRRORS undone."""
    top, bottom, left, right = shares
    variants: list[list[str]] = [[] for _ in MIRRORS]
    for small in sampled:
        height, width = small.shape[:2]
        rows = slice(round(top * height), round(bottom * height))
        picture = small[rows, round(left * width) : round(right * width)]
        # Hashed at the size the original's frames were: PDQ's filters follow the pixel count.
        hashes = mirrored_hashes(cv2.resize(picture, HASH_SIZE, interpolation=cv2.INTER_LINEAR))
        for variant, value in zip(variants, hashes or [], strict=False):
            variant.append(value)
    return variants


def recover(signals: ClipSignals, repository: ManifestRepository) -> Recovery | None:
    """The registered clip the signals point to, or None; the watermark is asked first."""
    reading = signals.watermark
    if reading.clip_id is not None:
        entry = repository.by_clip_id(reading.clip_id)
        if entry is not None:
            return Recovery(
                entry,
                "watermark",
                f"its watermark carries clip id {reading.clip_id} "
                f"(confidence {reading.confidence:.2f}, "
                f"{reading.bit_errors_corrected} bit errors corrected)",
                reading.transform,
                reading.confidence,
            )
    padding = (signals.padding,) if signals.padding else ()
    for (undone, _), hashes in zip(
        MIRRORS, signals.variants or [signals.fingerprint], strict=False
    ):
        entry = repository.by_fingerprint(hashes)
        if entry is None:
            continue
        distance = entry.distance or 0
        # The share of sampled frames that match, discounted by how far they are (an unrelated
        # frame lies ~128 bits away).
        confidence = entry.matched_frames / len(hashes) * (1 - distance / 128)
        return Recovery(
            entry,
            "fingerprint",
            f"{entry.matched_frames} of its {len(hashes)} sampled frames match "
            f"clip {entry.clip_id}'s fingerprint (mean PDQ distance {distance})",
            (*padding, *((undone,) if undone else ())),
            round(confidence, 3),
        )
    return None
