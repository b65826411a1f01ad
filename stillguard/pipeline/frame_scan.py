"""The output gate's checks, made on the frames while the generator encodes them.

Reading the clip back cost the output gate a whole decode: 0.47 CPU s of a 5 s 720p clip, as
much as its two classifiers together (measured 2026-12-08). But the generator holds those frames
as it encodes them, labelled and watermarked: the very arrays handed to the encoder. So it samples
and scores them on its own thread while the encoder's threads work, and records the report with
the clip. The output gate decides on that report once it has proven, cheaply, that the file it
reads is those frames:

- the file is byte-for-byte the one the encoder wrote: its SHA-256 is recorded with the report,
  and `records.checked_clip` holds the gate's copy to it;
- its header declares as many frames as were scanned;
- its keyframes, which decode alone in milliseconds, are the ones the encoder reported, and each
  matches, as a small thumbnail, the frame scanned at its place to within the encoding's error.

What that guarantees: the decision is on the frames the encoder was given, and a file that is not
the encoder's output of them (another clip, a re-encode, frames shifted or cut) fails the check.
What it does not: the frames between keyframes are not decoded, so a defect in the generator's own
process that fed the encoder other frames than it scored, between keyframes only, would pass;
nor is the sound read back (the audio checks read the samples handed to the AAC encoder). The
photo and prompt never reach that code. Where the check fails, or no scan was recorded (a scan
that raised, a clip made by an older worker), the gate decodes and scores the whole clip itself.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict

from generation import Clip, decode_keyframes, encode_mp4
from generation.timing import timed
from safety.clip_sampling import SampledClip
from safety.signals import Signal
from safety.video_checks import ClipReport, sample_clip

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = (32, 18)  # (width, height): each pixel averages a 40x40 block of a 720p frame
# How far a keyframe as decoded may be from the frame scanned, in grey levels of the thumbnail:
# its mean and its largest difference. Encoding alone (CRF 20, ultrafast) gave means of 0.2-0.3
# and maxima of 1-4 on the first frames of 9 photos' 720p clips, 0.5-0.9 and 4-12 at 320x180
# (2026-12-08). A frame of other content moves the mean by tens; a patch of other content as
# small as a thumbnail pixel moves the maximum by tens. A frame of the same gentle clip a
# second away can be as close as 1 level in the mean: the check tells content, not the exact
# frame.
MAX_MEAN_CHANGE, MAX_PIXEL_CHANGE = 1.5, 24


class KeyframeThumbnail(BaseModel):
    """A keyframe as it was scanned: its index and its THUMBNAIL_SIZE RGB pixels, base64."""

    model_config = ConfigDict(frozen=True)

    index: int
    pixels: str


class FrameScan(BaseModel):
    """What the output gate's checks found on the frames the encoder was given, and what proves
    a file is those frames (recorded with the clip in its `clip.generated` event)."""

    model_config = ConfigDict(frozen=True)

    frames: int
    keyframes: list[KeyframeThumbnail]
    signals: list[dict[str, Any]]
    findings: dict[str, list[dict[str, Any]]]  # report_findings: what reviewers see

    @classmethod
    def of(cls, report: ClipReport, frames: np.ndarray, keyframes: list[int]) -> FrameScan:
        return cls(
            frames=int(frames.shape[0]),
            keyframes=[
                KeyframeThumbnail(index=i, pixels=base64.b64encode(thumbnail(frames[i])).decode())
                for i in keyframes
                if 0 <= i < frames.shape[0]
            ],
            signals=[s.to_dict() for s in report.signals],
            findings=report_findings(report),
        )

    def policy_signals(self) -> list[Signal]:
        """The signals the policy decides on."""
        return [Signal.from_dict(s) for s in self.signals]

    def mismatch(self, path: Path) -> str | None:
        """Why the clip at `path` is not the frames scanned, or None when the check holds."""
        read = decode_keyframes(path)
        if read.declared != self.frames:
            return f"the file declares {read.declared} frames, {self.frames} were scanned"
        expected = {k.index: k.pixels for k in self.keyframes}
        if not expected or sorted(read.frames) != sorted(expected):
            return (
                f"the file's keyframes {sorted(read.frames)} are not the encoder's "
                f"{sorted(expected)}"
            )
        width, height = THUMBNAIL_SIZE
        for index, pixels in read.frames.items():
            scanned = np.frombuffer(base64.b64decode(expected[index]), np.uint8)
            change = np.abs(thumbnail(pixels).astype(np.int16) - scanned.reshape(height, width, 3))
            if change.mean() > MAX_MEAN_CHANGE or change.max() > MAX_PIXEL_CHANGE:
                return (
                    f"keyframe {index} differs from the frame scanned there (mean "
                    f"{change.mean():.1f}, largest {change.max()} levels)"
                )
        return None


def report_findings(report: ClipReport) -> dict[str, list[dict[str, Any]]]:
    """What the output decision's audit event shows reviewers besides the signals."""
    return {
        "segments": [s.to_dict() for s in report.segments],
        "timeline": [s.to_dict() for s in report.timeline],  # below thresholds too
        "frame_signals": [s.to_dict() for s in report.frame_signals],
    }


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A frame's THUMBNAIL_SIZE RGB thumbnail, uint8 (block averages)."""
    return cv2.resize(frame, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)


def encode_and_scan(
    clip: Clip,
    path: Path,
    *,
    preset: str,
    report: Callable[[SampledClip], ClipReport],
    timings_ms: dict[str, float],
) -> FrameScan | None:
    """Encode the clip to `path` on a thread while its frames are sampled and `report`ed here.

    Returns the scan, or None when the scan raised: the output gate then decodes the clip and
    checks it itself, so a classifier that is down still holds the job there. An encoding error
    is raised as `encode_mp4` raises it. `timings_ms` gets each side's own time, `encode` and
    `frame_scan`: what the scan adds to the job is how far it outlasts the encoder."""
    with ThreadPoolExecutor(1, thread_name_prefix="encode") as pool:
        encoding = pool.submit(timed, encode_mp4, clip, path, preset=preset)
        start = time.perf_counter()
        try:
            sample_rate = clip.sample_rate if clip.audio is not None else None
            scanned: ClipReport | None = report(
                sample_clip(clip.frames, clip.fps, audio=clip.audio, sample_rate=sample_rate)
            )
        except Exception as exc:  # noqa: BLE001 - the gate checks the clip itself instead
            log.warning("event=frame-scan-skipped error=%s", type(exc).__name__)
            scanned = None
        timings_ms["frame_scan"] = round((time.perf_counter() - start) * 1000, 1)
        keyframes, encode_s = encoding.result()
        timings_ms["encode"] = round(encode_s * 1000, 1)
    return None if scanned is None else FrameScan.of(scanned, clip.frames, keyframes)
