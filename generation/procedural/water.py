"""Water layer: a rolling ripple (a local flow), light and shade on its crests, and sun glints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .context import LayerContext
from .flow import Box, LocalFlow, Oscillation, local_region
from .imaging import smooth_noise
from .twinkle import Sparkle

GLINTS = 40  # at most
WAVE_SHADE = 24.0  # grey levels of light on a crest of smooth water (shade in a trough)


@dataclass(frozen=True)
class Crests:
    """Signed grey levels over a box: light on the water's crests, shade in its troughs. They are
    drawn on the photo once; the ripple's warp carries them."""

    box: Box
    levels: np.ndarray

    def on(self, image: np.ndarray) -> np.ndarray:
        """The RGB image with the crests drawn."""
        out = image.copy()
        out[self.box] = np.clip(image[self.box] + self.levels[..., None] + 0.5, 0, 255).astype(
            np.uint8
        )
        return out


@dataclass(frozen=True)
class Water:
    ripple: LocalFlow  # the layer
    crests: Crests
    glints: tuple[Sparkle, ...]  # for the twinkle layer


def prepare(ctx: LayerContext) -> Water | None:
    """The ripple, crests and glints of the scene's water; None where it has too little."""
    scene = ctx.scene
    if scene.fraction("water") < 0.01:
        return None
    region = local_region(ctx, "water", 8.0, 4.0)
    if region is None:
        return None
    box, m = region
    h, scale, strength = ctx.height, ctx.scale, ctx.plan.water
    gy, gx = ctx.grid_y[box], ctx.grid_x[box]
    top = box[0].start
    depth = np.clip((gy - top) / max(1.0, h - top), 0.0, 1.0)
    amplitude = (1.5 + 3.5 * depth) * scale * ctx.intensity * strength * m
    wavelength = (28.0 + 60.0 * depth) * scale
    warp = smooth_noise(ctx.rng, m.shape[0], m.shape[1], 60 * scale, 120 * scale, 2)
    phase = 2.0 * np.pi * (gy / wavelength) + 0.15 * gx / scale / 10.0 + 1.5 * warp
    omega = 2.0 * np.pi * ctx.timeline.frequency(0.55 * ctx.style.speed)
    # crests and troughs: light and shade along the ripple's phase, broken up along the
    # crests, strongest on smooth water (a mirror shows no ripple that moves nothing); the
    # ripple's remap carries them, so calm water reads as rolling, not as a still mirror
    breakup = smooth_noise(ctx.rng, m.shape[0], m.shape[1], 8 * scale, 40 * scale, 2)
    smooth = 1.0 - 0.5 * min(1.0, scene.water_texture)
    # far water mirrors at a grazing angle: its crests show more contrast than the near ones
    crest = WAVE_SHADE * smooth * strength * m * (1.0 - 0.5 * depth)
    crest *= np.clip(0.7 + 0.4 * breakup, 0.2, 1.3)
    motions: list[dict[str, Any]] = [
        {
            "region": "water",
            "kind": "ripple",
            "frequency_hz": round(omega / 2 / np.pi, 3),
            "amplitude_px": round(float(amplitude.max()), 2),
        }
    ]
    glints = _glints(ctx, box, m, phase, omega)
    if glints:
        motions.append({"region": "water", "kind": "glints", "count": len(glints)})
    ripple = LocalFlow(
        x=Oscillation.of(box, amplitude * 0.35, phase + 1.3, omega),
        y=Oscillation.of(box, amplitude * 1.0, phase + 0.0, omega),
        motions=tuple(motions),
    )
    return Water(ripple, Crests(box, crest * np.sin(phase + 0.6)), glints)


def _glints(
    ctx: LayerContext, box: Box, mask: np.ndarray, phase: np.ndarray, omega: float
) -> tuple[Sparkle, ...]:
    """Sun glints: small sparkles on the water that flash as a ripple's crest passes them."""
    if ctx.scene.is_night or ctx.plan.water == 0.0:
        return ()
    inside = np.argwhere(mask > 0.8)
    if inside.size == 0:
        return ()
    rng = ctx.own_rng(0x6171)
    count = min(GLINTS, max(4, inside.shape[0] // 4000))
    picks = inside[rng.choice(inside.shape[0], size=count, replace=False)]
    r = max(2, round(3 * ctx.scale))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    star = np.exp(-(xx * xx + yy * yy) / (0.3 * r * r)) + 0.4 * np.exp(
        -(yy * yy) / 0.6 - (xx * xx) / (r * r)
    )
    sprite = (star[..., None] * np.array([90.0, 90.0, 80.0], np.float32)).astype(np.float32)
    # sin(phase - omega t) peaks when omega t = phase - pi/2: a twinkle with that phase
    return tuple(
        Sparkle(
            float(px + box[1].start),
            float(py + box[0].start),
            sprite,
            omega / (2 * np.pi),
            -float(phase[py, px]) + np.pi,
            12.0,
        )
        for py, px in picks
    )
