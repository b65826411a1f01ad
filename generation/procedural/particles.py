"""Particle layer: rain, snow or dust (asked for in the motion prompt), a tileable layer of
particles twice the frame in each direction, scrolled and added to each frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .context import LayerContext
from .frame import Frame


@dataclass(frozen=True)
class Fall:
    """How one kind of particle looks and falls."""

    count: int  # particles in a 720p frame
    length: float  # streak length at 720p, px (1: a round flake)
    level: float  # grey level at full cover
    direction: tuple[float, float]  # (x, y) per unit of fall; the sign of y says up or down
    speed: float  # frame heights per second
    tint: tuple[float, float, float]


FALLS = {
    "rain": Fall(900, 18.0, 55.0, (-0.15, 1.0), 0.9, (0.9, 0.95, 1.0)),
    "snow": Fall(700, 1.0, 200.0, (0.12, 0.25), 0.08, (1.0, 1.0, 1.0)),
    "dust": Fall(250, 1.0, 160.0, (0.05, -0.03), 0.03, (1.0, 0.85, 0.55)),
}


@dataclass(frozen=True)
class Particles:
    tile: np.ndarray  # (2 height, 2 width, 3) uint8: the particles, twice over each way
    velocity: tuple[float, float]  # px per second
    motions: tuple[dict[str, Any], ...]

    def apply(self, frame: Frame) -> None:
        h, w = self.tile.shape[0] // 2, self.tile.shape[1] // 2
        vx, vy = self.velocity
        # the layer moves by (vx, vy) t: the window into it moves the other way
        x0 = round(-vx * frame.t) % w
        y0 = round(-vy * frame.t) % h
        cv2.add(frame.out, self.tile[y0 : y0 + h, x0 : x0 + w], dst=frame.out)


def prepare(ctx: LayerContext) -> Particles | None:
    """The particles the motion plan asks for; None where it asks for none."""
    kind = ctx.plan.particles
    if not kind:
        return None
    fall = FALLS[kind]
    h, w, scale = ctx.height, ctx.width, ctx.scale
    layer: np.ndarray = np.zeros((h, w), np.float32)
    area = h * w / (1280 * 720)
    count = int(fall.count * area)
    length = max(4, round(fall.length * scale)) if kind == "rain" else 1
    rng = ctx.own_rng(0x9A27)
    xs = rng.integers(0, w, count)
    ys = rng.integers(0, h, count)
    sizes = rng.uniform(0.6, 1.8, count) * max(1.0, 2.0 * scale)
    for x, y, size in zip(xs, ys, sizes, strict=True):
        if kind == "rain":
            end = (int(x + fall.direction[0] * length), int(y + length))
            cv2.line(layer, (int(x), int(y)), end, 1.0, 1, cv2.LINE_AA)
        else:
            cv2.circle(layer, (int(x), int(y)), max(1, round(size)), 1.0, -1, cv2.LINE_AA)
    layer = cv2.GaussianBlur(layer, (0, 0), 0.6 if kind == "rain" else 0.9 * scale + 0.3)
    single = np.clip(
        layer[..., None] * np.array(fall.tint, np.float32) * fall.level, 0, 255
    ).astype(np.uint8)
    speed = fall.speed * h * ctx.intensity  # px per second
    dx, dy = fall.direction
    vx, vy = dx / max(abs(dy), 1e-6) * speed, math.copysign(speed, dy)
    if ctx.options.loop:  # whole tiles per loop so the layer meets itself
        period = ctx.timeline.period
        vx = round(vx * period / w) * w / period
        vy = (max(1, round(abs(vy) * period / h)) * h / period) * (1 if vy > 0 else -1)
    motion = {
        "region": "all",
        "kind": f"particles: {kind}",
        "velocity_px_s": [round(vx, 1), round(vy, 1)],
    }
    return Particles(np.tile(single, (2, 2, 1)), (vx, vy), (motion,))
