"""A generated clip: frames, frame rate, ambient audio and what the generator did to make it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 48000


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
