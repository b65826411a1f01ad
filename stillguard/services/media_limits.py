"""Bounds on decoding a stranger's clip: its duration, frames, pixels per frame and in all.

A few kilobytes of MP4 can hold thousands of black 4K frames (a decompression bomb). The header is
checked before anything is decoded, and every decoded frame is counted as well, so a header that
lies is caught too. Breaking a limit is PayloadTooLarge naming the setting an operator may raise;
the checks then keep only thumbnails and sampled frames (`safety.clip_sampling`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av

from ..errors import PayloadTooLarge
from ..settings import Settings

# 7.1 surround; more channels than that are not a video's soundtrack.
MAX_AUDIO_CHANNELS = 8
# AAC pads its last block, and an encoder may run the sound a little past the pictures.
AUDIO_PADDING_S = 1.0


def is_mp4(data: bytes) -> bool:
    """True when `data` starts like an MP4 (an `ftyp` box first)."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


@dataclass
class DecodeBudget:
    """What one clip may decode to; call it with each decoded frame (width, height, seconds)."""

    max_seconds: float
    max_frames: int
    max_frame_pixels: int
    max_decoded_pixels: int
    frames: int = 0
    decoded_pixels: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodeBudget:
        """A fresh budget with the operator's limits."""
        return cls(
            settings.max_clip_seconds,
            settings.max_clip_frames,
            settings.max_frame_pixels,
            settings.max_decoded_pixels,
        )

    def check_header(self, data: bytes) -> None:
        """Refuse a clip whose header declares more than the limits, before decoding a frame.

        A header that cannot be read is left to the decoder, which reports the file corrupt.
        """
        try:
            with av.open(io.BytesIO(data), mode="r") as container:
                if not container.streams.video:
                    return
                video = container.streams.video[0]
                width, height = video.codec_context.width, video.codec_context.height
                frames = int(video.frames or 0)
                if video.duration is not None and video.time_base is not None:
                    seconds = float(video.duration * video.time_base)
                else:
                    seconds = (container.duration or 0) / av.time_base
        except (av.FFmpegError, EOFError, ValueError):
            return
        self._check(width, height, frames, seconds, frames * width * height)

    def __call__(self, width: int, height: int, seconds: float) -> None:
        """Count one decoded frame; PayloadTooLarge once the clip is over a limit."""
        self.frames += 1
        self.decoded_pixels += width * height
        self._check(width, height, self.frames, seconds, self.decoded_pixels)

    def audio(self, channels: int, seconds: float) -> None:
        """Count decoded sound: as long as the clip may be, in at most MAX_AUDIO_CHANNELS.

        A second of pictures can carry an hour of silence that decodes to gigabytes of samples.
        """
        if channels > MAX_AUDIO_CHANNELS:
            raise PayloadTooLarge(
                "media_too_large",
                f"the clip's sound has {channels} channels, over {MAX_AUDIO_CHANNELS}",
            )
        if seconds > self.max_seconds + AUDIO_PADDING_S:
            raise PayloadTooLarge(
                "media_too_large",
                f"the clip is too large to decode: {seconds:.1f} s of sound, over "
                f"STILLGUARD_MAX_CLIP_SECONDS={self.max_seconds:g}",
            )

    def _check(self, width: int, height: int, frames: int, seconds: float, pixels: int) -> None:
        over = [
            (width * height, self.max_frame_pixels, "MAX_FRAME_PIXELS", f"{width}x{height} frames"),
            (frames, self.max_frames, "MAX_CLIP_FRAMES", f"{frames} frames"),
            (seconds, self.max_seconds, "MAX_CLIP_SECONDS", f"{seconds:.1f} s"),
            (pixels, self.max_decoded_pixels, "MAX_DECODED_PIXELS", f"{pixels:,} pixels decoded"),
        ]
        for value, limit, name, what in over:
            if value > limit:
                shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
                raise PayloadTooLarge(
                    "media_too_large",
                    f"the clip is too large to decode: {what}, over STILLGUARD_{name}={shown}",
                )
