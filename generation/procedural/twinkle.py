"""Twinkle layer: point lights (lamps) and sun glints on water that brighten and fade in turn."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .camera import CameraPush
from .context import LayerContext
from .frame import Frame

LAMPS = 12  # at most, the largest of the scene's lights


@dataclass(frozen=True)
class Sparkle:
    """A light at (x, y) in the photo whose sprite is added with gain
    (0.5 + 0.5 sin(2 pi frequency t + phase)) ** sharpness: higher sharpness, briefer flashes."""

    x: float
    y: float
    sprite: np.ndarray  # (2r + 1, 2r + 1, 3) float32 grey levels at full gain
    frequency_hz: float
    phase: float
    sharpness: float

    def draw(self, out: np.ndarray, t: float, at: tuple[int, int], weight: float = 1.0) -> None:
        """Adds the sprite at time t, centred on `at` (the light where the camera moved it), times
        `weight` (a star's twinkle fades where the sky it turns with gives way to a tree)."""
        h, w = out.shape[:2]
        wave = 0.5 + 0.5 * math.sin(2 * math.pi * self.frequency_hz * t + self.phase)
        gain = weight * wave**self.sharpness
        r = self.sprite.shape[0] // 2
        cx, cy = at
        x0, y0, x1, y1 = max(0, cx - r), max(0, cy - r), min(w, cx + r + 1), min(h, cy + r + 1)
        if x0 >= x1 or y0 >= y1:
            return
        patch = out[y0:y1, x0:x1].astype(np.float32)
        patch += self.sprite[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r] * gain
        out[y0:y1, x0:x1] = np.minimum(patch, 255.0).astype(np.uint8)


@dataclass(frozen=True)
class Twinkle:
    sparkles: tuple[Sparkle, ...]
    camera: CameraPush
    motions: tuple[dict[str, Any], ...]

    def apply(self, frame: Frame) -> None:
        for sparkle in self.sparkles:
            sparkle.draw(frame.out, frame.t, self.camera.moved(sparkle.x, sparkle.y, frame.zoom))


def prepare(ctx: LayerContext, camera: CameraPush, glints: Sequence[Sparkle]) -> Twinkle | None:
    """The water's glints and the scene's lamps, drawn where the camera's push moves them; None
    where there are neither."""
    lamps = []
    for x, y, radius in ctx.scene.lights[:LAMPS]:
        r = max(3, int(radius * 1.5))
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
        d2 = (xx * xx + yy * yy) / (0.35 * r) ** 2
        star = (
            np.exp(-d2)
            + 0.5 * np.exp(-(xx * xx) / 1.5 - (yy * yy) / (0.8 * r) ** 2)
            + 0.5 * np.exp(-(yy * yy) / 1.5 - (xx * xx) / (0.8 * r) ** 2)
        )
        frequency = ctx.timeline.frequency(ctx.rng.uniform(1.5, 3.5))
        phase = ctx.rng.uniform(0, 2 * np.pi)
        sprite = (star[..., None] * 70.0).astype(np.float32)
        lamps.append(Sparkle(float(x), float(y), sprite, frequency, phase, 1.0))
    motions = ({"region": "lights", "kind": "twinkle", "count": len(lamps)},) if lamps else ()
    sparkles = (*glints, *lamps)
    return Twinkle(sparkles, camera, motions) if sparkles else None
