"""Mist layer: a thin veil drifting across the distance, where the photo already shows haze.

The scene reading measures haze in the band below the horizon (generation.haze). From HAZE_FROM
to HAZE_FULL the veil goes from nothing to MAX_OPACITY: crisp photos get none, grey mist over
water gets the most. The veil lightens each pixel toward the airlight colour (never past it, so
it can only soften the photo), fades out above and below a band about the horizon, and is thicker
and thinner in smooth noise that drifts sideways, slower than the sky: what a breeze does to
mist. It lies on what is already hazy: a pixel whose dark channel is still low (a jetty's dark
planks at the horizon, a near tree) is in front of the mist and gets little of it; the sky, which
drifts on its own, gets a third, and water half. No face is ever veiled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .context import LayerContext, Timeline
from .frame import Frame
from .imaging import smooth_noise
from .sky import MAX_DURATION_S, SkyCanvas

HAZE_FROM = 0.3  # haze (generation.haze) under which nothing is added
HAZE_FULL = 0.8  # haze at which the veil is at MAX_OPACITY
MAX_OPACITY = 0.3  # the veil's mean share of the airlight, where it is thickest
MIST_SPEED = 12.0  # px per second at 720p: a third of the sky's drift
ABOVE, BELOW = 0.05, 0.12  # the band's fade above and below the horizon, shares of the height
MIST_CELL = 220.0  # px at 720p: the size of the veil's thick and thin patches
MIST_STREAM = 0x4D15  # the layer's own random stream: other layers' draws stay as they were
HAZY_FROM, HAZY_FULL = 0.25, 0.75  # a pixel's dark channel from which it takes mist, and fully
OVER_SKY = 0.35  # the veil's share over the sky
# and over water: a full veil flattened the ripples' texture (water flow 3.4x -> 2.9x its still
# regions on a hazy beach at dusk, bench.generation_eval)
OVER_WATER = 0.5


@dataclass(frozen=True)
class MistDrift:
    """The prepared veil: its opacity over the band's rows and the drifting noise."""

    top: int  # first row of the band
    opacity: np.ndarray  # (rows, width) float32: the veil's share of the airlight at mean noise
    air: np.ndarray  # (rows, width, 3) uint8: the airlight colour
    noise: np.ndarray  # (rows / 4, (width + reach) / 4) float32, quarter size, unit deviation
    velocity: float  # px per second (+ drifts right)
    timeline: Timeline
    motions: tuple[dict[str, Any], ...]

    def _patches(self, offset: float) -> np.ndarray:
        """The thick and thin patches seen from `offset` pixels along the noise, full size."""
        rows, width = self.opacity.shape
        shift = np.float32([[1, 0, -offset / 4.0], [0, 1, 0]])
        size = (math.ceil(width / 4), self.noise.shape[0])
        quarter = cv2.warpAffine(self.noise, shift, size, borderMode=cv2.BORDER_REFLECT)
        return cv2.resize(quarter, (4 * size[0], 4 * size[1]))[:rows, :width]

    def patches(self, t: float) -> np.ndarray:
        """The noise at time t; a loop cross-fades two drifting copies half a period apart, as
        the sky does, so its end meets its start."""
        reach = 4.0 * self.noise.shape[1] - self.opacity.shape[1]
        start = reach if self.velocity > 0 else 0.0
        if not self.timeline.loop:
            return self._patches(start - self.velocity * t)
        period = self.timeline.period
        phase = (t / period) % 1.0
        cycle = self.velocity * period
        first = self._patches(start - cycle * phase)
        second = self._patches(start - cycle * ((phase + 0.5) % 1.0))
        weight = 1.0 - abs(2.0 * phase - 1.0)
        return weight * first + (1.0 - weight) * second

    def apply(self, frame: Frame) -> None:
        rows = self.opacity.shape[0]
        veil = self.opacity * np.clip(1.0 + 0.8 * self.patches(frame.t), 0.0, 2.5)
        band = frame.out[self.top : self.top + rows]
        cv2.blendLinear(band, self.air, 1.0 - veil, veil, dst=band)


def prepare(ctx: LayerContext, sky_canvas: SkyCanvas | None) -> MistDrift | None:
    """The veil, or None where the photo shows too little haze in its distance. It drifts the
    way the sky canvas does, where the photo has one: mist and clouds against each other read as two
    winds."""
    scene = ctx.scene
    amount = float(np.clip((scene.haze - HAZE_FROM) / (HAZE_FULL - HAZE_FROM), 0.0, 1.0))
    strength = MAX_OPACITY * amount * min(1.0, ctx.intensity)
    if strength < 0.02 or scene.hazy is None:
        return None
    h, w = ctx.height, ctx.width
    line = scene.horizon * h
    y = np.arange(h, dtype=np.float32)
    spread = np.where(y < line, ABOVE * h, BELOW * h)
    profile = np.exp(-(((y - line) / spread) ** 2))
    inside = np.flatnonzero(profile > 0.02)
    top, bottom = int(inside[0]), int(inside[-1]) + 1
    hazy = cv2.resize(scene.hazy, (w, h), interpolation=cv2.INTER_LINEAR)[top:bottom]
    behind = np.clip((hazy - HAZY_FROM) / (HAZY_FULL - HAZY_FROM), 0.0, 1.0)
    feather = 4 * ctx.scale
    sky = scene.mask("sky", w, h, feather_px=feather)[top:bottom]
    water = scene.mask("water", w, h, feather_px=feather)[top:bottom]
    opacity = strength * profile[top:bottom, None] * behind
    opacity *= (1.0 - (1.0 - OVER_SKY) * sky) * (1.0 - (1.0 - OVER_WATER) * water)
    if ctx.identity is not None:
        opacity *= 1.0 - ctx.identity[top:bottom]
    rng = ctx.own_rng(MIST_STREAM)
    if sky_canvas is not None and sky_canvas.velocity:
        direction = 1 if sky_canvas.velocity > 0 else -1
    else:
        direction = ctx.plan.sky_direction or (1 if rng.random() < 0.5 else -1)
    speed = MIST_SPEED * ctx.scale * ctx.intensity * ctx.style.speed * ctx.plan.sky_speed
    # the noise spans the longest clip's drift, so a clip's length does not change the mist
    reach = 4 * math.ceil((speed * MAX_DURATION_S + 8) / 4)
    rows, cell = bottom - top, MIST_CELL * ctx.scale / 4.0
    noise = smooth_noise(rng, math.ceil(rows / 4) + 1, (w + reach) // 4 + 1, cell / 3, cell, 3)
    air = np.empty((rows, w, 3), np.uint8)
    air[:] = scene.airlight
    motion = {
        "region": "haze",
        "kind": "mist drift",
        "haze": round(scene.haze, 3),
        "opacity": round(strength, 3),
        "speed_px_s": round(speed * direction, 2),
    }
    return MistDrift(
        top, opacity.astype(np.float32), air, noise, speed * direction, ctx.timeline, (motion,)
    )
