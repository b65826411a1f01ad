"""Find the original manifest of a clip that lost it: watermark first, then fingerprint.

The copy is decoded once, frame by frame, keeping only what the two readers need (the running
mean luma for the watermark, one frame per second for the fingerprint), so memory stays small
whatever the clip's length. Decoding stops after MAX_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import av
import numpy as np

from provenance.errors import CorruptMediaError
from provenance.fingerprint import frame_hash, is_sampled
from provenance.watermark import WatermarkReading, detect_in_luma, mean_luma

if TYPE_CHECKING:
    from provenance.repository import ManifestRepository, RegistryEntry

MAX_SECONDS = 60.0  # longer uploads are judged on their first minute


@dataclass
class ClipSignals:
    """What a decoded copy says about its origin."""

    watermark: WatermarkReading
    fingerprint: list[str] = field(default_factory=list)
    frames: int = 0


@dataclass(frozen=True)
class Recovery:
    """A registry entry found for a copy, and how."""

    entry: RegistryEntry
    source: str  # watermark | fingerprint
    detail: str


def read_signals(stream: BinaryIO) -> ClipSignals:
    """Decode the video track of `stream` once; read its watermark and fingerprint."""
    stream.seek(0)
    luma_sum: np.ndarray | None = None
    hashes: list[str] = []
    count = 0
    aspect: float | None = None  # width / height of the copy's frames
    try:
        with av.open(stream, mode="r") as container:
            if not container.streams.video:
                raise CorruptMediaError("the file has no video track to recover provenance from")
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            fps = float(video.average_rate or video.guessed_rate or 24)
            for frame in container.decode(video):
                rgb = frame.to_ndarray(format="rgb24")
                aspect = rgb.shape[1] / rgb.shape[0]
                luma = mean_luma(rgb[None])
                luma_sum = luma if luma_sum is None else luma_sum + luma
                if is_sampled(count, fps):
                    value = frame_hash(rgb)
                    if value is not None:
                        hashes.append(value)
                count += 1
                if count >= MAX_SECONDS * fps:
                    break
    except av.FFmpegError as error:
        raise CorruptMediaError(f"the video cannot be decoded ({error})") from error
    if luma_sum is None:
        return ClipSignals(WatermarkReading(None, 0.0, 0), [], 0)
    return ClipSignals(detect_in_luma(luma_sum / count, aspect), hashes, count)


def recover(signals: ClipSignals, repository: ManifestRepository) -> Recovery | None:
    """The registered clip the signals point to, or None; the watermark is asked first."""
    reading = signals.watermark
    if reading.clip_id is not None and (entry := repository.by_clip_id(reading.clip_id)):
        why = (
            f"its watermark carries clip id {reading.clip_id} (confidence "
            f"{reading.confidence:.2f}, {reading.bit_errors_corrected} bit errors corrected)"
        )
        return Recovery(entry, "watermark", why)
    if entry := repository.by_fingerprint(signals.fingerprint):
        why = (
            f"{entry.matched_frames} of its {len(signals.fingerprint)} sampled frames match "
            f"clip {entry.clip_id}'s fingerprint (mean PDQ distance {entry.distance})"
        )
        return Recovery(entry, "fingerprint", why)
    return None
