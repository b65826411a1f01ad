"""Whether a colour is the sky's: one test for the scene reading and the sky layer.

The scene reading keeps a hole in the sky open when it is a thing in front of it (a kite, a bird:
sky_region); the sky layer holds still what its drift must not carry (a lit beam, a leaf:
procedural/sky). Both ask the same question of a pixel against an estimate of the sky around it:
is it much darker (a silhouette) or off the sky's hue? Clouds only move the sky's colour toward
white or grey, so paler on the sky-to-white line is not off."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SKY_DARKER = 28.0  # grey levels darker than the sky around: a silhouette
SKY_CHROMA = 0.035  # chromaticity off the sky-to-white line: another hue
LIT = 60.0  # least channel sum whose hue counts (darker pixels' chromaticity is noise)


def chromaticity(channels: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The channel sum of R, G and B planes and, per channel, its share of that sum less a third
    (grey is zero), as float32 planes."""
    planes = [plane.astype(np.float32) for plane in channels]
    total = planes[0] + planes[1] + planes[2]
    inverse = 1.0 / (total + 1.0)
    return total, [plane * inverse - 1.0 / 3.0 for plane in planes]


def off_sky_colour(
    total: np.ndarray,
    chroma: list[np.ndarray],
    total_sky: np.ndarray | float,
    sky_chroma: Sequence[np.ndarray | float],
) -> np.ndarray:
    """Where pixels (channel sums and chromaticities, `chromaticity`) are much darker than a sky
    estimate or off its hue; the estimate is per pixel or one colour for all."""
    # per-channel planes: sums across channels of (H, W, 3) arrays were most of the sky setup's
    # time; on planes the same arithmetic takes a quarter of it (720p: 178 -> 48 ms, measured)
    darker = (total_sky - total) / 3.0 > SKY_DARKER
    along = sum(c * s for c, s in zip(chroma, sky_chroma, strict=True)) / np.maximum(
        sum(s * s for s in sky_chroma), 1e-6
    )
    along = np.clip(along, 0.0, 1.0)
    residual = sum((c - along * s) ** 2 for c, s in zip(chroma, sky_chroma, strict=True))
    off_hue = (residual > SKY_CHROMA**2) & (total > LIT)
    return darker | off_hue
