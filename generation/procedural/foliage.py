"""Foliage layer: leaves and branches sway, mostly across, a little along (a local flow)."""

from __future__ import annotations

import numpy as np

from .context import LayerContext
from .flow import LocalFlow, Oscillation, local_region
from .imaging import smooth_noise


def prepare(ctx: LayerContext) -> LocalFlow | None:
    """The sway of the scene's foliage; None where it has too little."""
    if ctx.scene.fraction("foliage") < 0.005:
        return None
    region = local_region(ctx, "foliage", 6.0, 2.0)
    if region is None:
        return None
    box, m = region
    scale, speed = ctx.scale, ctx.style.speed
    phase = 2.0 * np.pi * smooth_noise(ctx.rng, m.shape[0], m.shape[1], 90 * scale, 90 * scale, 2)
    phase = phase * 0.35
    amplitude = 1.6 * scale * ctx.intensity * ctx.plan.foliage * m
    omega = 2.0 * np.pi * ctx.timeline.frequency(0.6 * speed)
    return LocalFlow(
        x=Oscillation.of(box, amplitude, phase, omega),
        y=Oscillation.of(
            box,
            0.3 * amplitude,
            phase + 0.7,
            2.0 * np.pi * ctx.timeline.frequency(0.78 * speed),
        ),
        motions=(
            {"region": "foliage", "kind": "sway", "frequency_hz": round(omega / 2 / np.pi, 3)},
        ),
    )
