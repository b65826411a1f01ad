"""Procedural clouds and a thin veil painted on the sky canvas, so the sky's drift is seen."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .context import LayerContext
from .imaging import smooth_noise

CLOUD_EDGE = 0.5  # noise deviations from clear sky to full cloud: lower gives crisper edges
VEIL_OPACITY = 0.35  # cloud veil over a clear sky (less over a sky with clouds of its own)
VEIL_CONTRAST = 80.0  # grey levels the veil lightens or darkens the sky by at full opacity
CLOUD_SHADING = 0.12  # brightness varies this much inside a cloud (lit puffs, shaded hollows)
# added cloud and shade may be darker than the sky only by its own variation around (a smooth sky
# has none: only lighter) and by this many grey levels; measured over a window of this width
DARKER_ALLOWED = 4.0
SKY_SPREAD_PX = 60.0  # at 720p
LUMA = np.array([[0.299, 0.587, 0.114]], np.float32)  # RGB weights of the grey level


def cloud_opacity(ctx: LayerContext) -> float:
    """How much cloud is added: less where the photo's sky has clouds of its own."""
    return ctx.style.cloud_opacity * (1.0 - 0.6 * ctx.scene.sky_texture) * ctx.plan.clouds


def paint_clouds(
    ctx: LayerContext, canvas: np.ndarray, sky_rows: int, left: int, reach: int
) -> np.ndarray:
    """Paints soft procedural clouds over the canvas, whose column `left` is the photo's
    column 0; the clouds are drawn for photo columns -reach .. width + reach."""
    style, scene = ctx.style, ctx.scene
    ch, cw = canvas.shape[:2]
    opacity = cloud_opacity(ctx)
    if opacity <= 0.01:
        return canvas
    # cloud density is soft: make it at quarter size and scale it up
    qh, qw = max(2, math.ceil(ch / 4)), max(2, math.ceil((ctx.width + 2 * reach) / 4))
    cell = 150.0 * ctx.scale / 4.0

    def on_canvas(quarter: np.ndarray) -> np.ndarray:
        """A quarter-size field scaled up and cut to the canvas, with a channel axis."""
        full = cv2.resize(quarter, (4 * qw, 4 * qh), interpolation=cv2.INTER_LINEAR)
        return full[:ch, reach - left : reach - left + cw, None]

    noise = smooth_noise(ctx.rng, qh, qw, cell, cell * 2.6, octaves=4)
    threshold = 1.1 - 1.6 * style.cloud_coverage
    density = np.clip((noise - threshold) / CLOUD_EDGE, 0.0, 1.0)
    density = density * density * (3.0 - 2.0 * density)
    # puffs and shading inside each cloud: real clouds are not flat, and a drift is seen by
    # texture (a flat blob shows its motion only at its edge)
    detail = smooth_noise(ctx.own_rng(0xC10D), qh, qw, cell / 5.0, cell / 3.0, octaves=2)
    density *= np.clip(0.7 + 0.3 * detail, 0.0, 1.0)
    # fade toward the horizon (perspective) so clouds do not end on a line
    rows = np.arange(qh, dtype=np.float32) / max(sky_rows / 4.0, 1.0)
    density *= np.clip((1.0 - rows) / 0.25, 0.0, 1.0)[:, None] * (0.8 * opacity)
    # a thin veil over the whole sky, strongest where the photo's sky is smooth: a clear sky
    # shows no drift at all, while the veil's texture shows it everywhere. It is lighter and
    # darker than the sky in turn (thin cloud and its shade), so it neither whitens a dark
    # storm sky nor vanishes in a bright glow (its shade only as dark as the sky's own clouds
    # allow, see _no_darker_than_the_sky); its texture is not much wider than tall, as
    # long streaks drifting along themselves show no motion
    veil = None
    veil_opacity = VEIL_OPACITY * (1.0 - scene.sky_texture) * ctx.plan.clouds
    if veil_opacity > 0.01:
        streaks = smooth_noise(ctx.own_rng(0x7E11), qh, qw, cell / 4.0, cell / 2.0, octaves=3)
        fade = np.clip((1.0 - rows) / 0.1, 0.0, 1.0)[:, None]
        veil = on_canvas(np.clip(streaks / 1.5, -1.0, 1.0) * fade * veil_opacity)
    cover = on_canvas(density)
    shade = 1.0 + CLOUD_SHADING * on_canvas(detail)
    target = 235.0 * float(np.clip(scene.sky_luma * 2.4, 0.3, 1.0))
    tint = np.array([1.0, 0.97, 0.97], np.float32) if ctx.options.style == "dramatic" else 1.0
    painted = canvas * (1.0 - cover) + (target * tint) * shade * cover
    if veil is not None:
        painted += VEIL_CONTRAST * veil
    floor = _sky_floor(canvas[:, left : left + ctx.width], ctx.scale)
    return _lifted(painted, floor, left)


def _sky_floor(sky: np.ndarray, scale: float) -> np.ndarray:
    """The darkest grey level that added cloud may take over each pixel of the photo's sky: its
    local mean less its local spread and DARKER_ALLOWED, and never above the pixel itself. A sky
    with dark clouds of its own may take darker cloud and shade, a clear or misty one only lighter
    (shade painted on a smooth sky drifted over it as dark blotches)."""
    luma = cv2.transform(sky, LUMA)
    # local statistics are smooth: take them at an eighth of the size
    height, width = luma.shape
    small = cv2.resize(
        luma, (max(1, width // 8), max(1, height // 8)), interpolation=cv2.INTER_AREA
    )
    sigma = max(1.0, SKY_SPREAD_PX * scale / 8.0)
    mean = cv2.GaussianBlur(small, (0, 0), sigma)
    spread = np.sqrt(np.maximum(cv2.GaussianBlur(small * small, (0, 0), sigma) - mean * mean, 0.0))
    floor = cv2.resize(mean - spread, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.minimum(floor - DARKER_ALLOWED, luma)


def _lifted(painted: np.ndarray, floor: np.ndarray, left: int) -> np.ndarray:
    """The painted canvas (in place) lifted to the floor wherever it is darker. The floor is the photo's
    (canvas columns `left` on), carried on from its edge columns over the drift's margins, so a
    clip's length, which sets the margins, does not change it."""
    right = painted.shape[1] - left - floor.shape[1]
    floor = np.pad(floor, ((0, 0), (left, right)), mode="edge")
    lift = floor - cv2.transform(painted, LUMA)
    painted += np.maximum(lift, 0.0, out=lift)[..., None]
    return painted
