"""A generated clip: frames, frame rate, ambient audio and what the generator did to make it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 48000


@dataclass(frozen=True)
class VideoFormat:
    """What an MP4's streams are: frame size and rate, and the sound's sample rate (None: the
    file has no audio track)."""

    width: int
    height: int
    fps: int
    sample_rate: int | None = None


@dataclass
class Clip:
    """Frames are (N, H, W, 3) uint8 RGB, C-contiguous; audio is float32 (2, samples) in [-1, 1]."""

    frames: np.ndarray
    fps: int
    audio: np.ndarray | None
    sample_rate: int
    backend: str
    backend_version: str
    scene: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.frames.shape[0] / self.fps

    @property
    def video_format(self) -> VideoFormat:
        """The clip's size, frame rate and (when it has sound) sample rate, as an encoder wants."""
        height, width = self.frames.shape[1:3]
        sample_rate = self.sample_rate if self.audio is not None else None
        return VideoFormat(width, height, self.fps, sample_rate)
