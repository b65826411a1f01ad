"""Sky layer: the sky lifted into its own canvas that drifts behind what stands in front of it.

Occluders (towers, trees, mountains) are filled with sky-like colour, the canvas is widened for
the drift and painted with procedural wisps of cloud, then pre-shifted to a few sub-pixel phases.
Each frame takes the canvas at the drift offset and blends it over the photo through the sky
mask, which is shrunk and feathered inside the sky, so no edge tears.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..sky_colour import chromaticity, off_sky_colour
from .clouds import cloud_opacity, paint_clouds
from .context import LayerContext, Timeline
from .frame import Frame
from .imaging import dilate, erode, fill_from_mask
from .overlay import Overlay

MAX_DURATION_S = 21.0
# sky drift at 720p, px per second: 1.4 px a frame at 24 fps reads as moving, not as hurrying
SKY_SPEED = 34.0
SUBPIXEL_PHASES = 4  # the sky canvas is pre-shifted by quarter pixels
THIN_LINE_PX = 40.0  # at 720p: a thin thing this long is a line (a cable, a beam), not a speck
THIN_GAP_PX = 4.0  # at 720p: thin things this close are pieces of one (a lattice, a dashed line)
SKY_EDGE_PX = 12.0  # at 720p: thin things this near the sky's edge belong to what bounds it
HORIZON_FADE = 0.15  # share of the sky's height over which the drift fades out at its bottom


@dataclass(frozen=True)
class SkyCanvas:
    """The drifting sky, prepared from the photo: its canvas pre-shifted to sub-pixel phases."""

    phases: tuple[np.ndarray, ...]  # RGBA canvases, shifted by 0, 1/4, 2/4, 3/4 px
    alpha: np.ndarray  # float32 blend weight over the photo's top `rows` rows
    origin: float  # canvas column at photo column 0 at time 0
    velocity: float  # px per second (+ drifts right)
    motions: tuple[dict[str, Any], ...]

    @property
    def rows(self) -> int:
        return int(self.alpha.shape[0])

    def over(self, photo: np.ndarray, timeline: Timeline) -> SkyDrift:
        """The layer that blends this sky over an RGBA photo (overlay.Overlay)."""
        overlay = Overlay.of(photo, self.alpha)
        return SkyDrift(self, timeline, int(photo.shape[1]), overlay, self.motions)


@dataclass(frozen=True)
class SkyDrift:
    canvas: SkyCanvas
    timeline: Timeline
    width: int
    overlay: Overlay
    motions: tuple[dict[str, Any], ...]

    def _at(self, offset: float) -> np.ndarray:
        """The canvas seen from `offset` (canvas column at photo column 0), to a quarter pixel."""
        whole = math.floor(offset)
        k = round((offset - whole) * SUBPIXEL_PHASES)
        if k == SUBPIXEL_PHASES:
            whole, k = whole + 1, 0
        return self.canvas.phases[k][:, whole : whole + self.width]

    def view(self, t: float, dst: np.ndarray | None = None) -> np.ndarray:
        """The sky over the photo's top rows at time t (RGBA)."""
        sky = self.canvas
        if not self.timeline.loop:
            return self._at(sky.origin - sky.velocity * t)
        # two copies drift over one period each, half a period apart; each is faded out as it
        # jumps back, so the loop has no seam
        period = self.timeline.period
        cycle = sky.velocity * period
        phase = (t / period) % 1.0
        first = self._at(sky.origin - cycle * phase)
        second = self._at(sky.origin - cycle * ((phase + 0.5) % 1.0))
        weight = 1.0 - abs(2.0 * phase - 1.0)
        return cv2.addWeighted(first, weight, second, 1.0 - weight, 0.0, dst=dst)

    def apply(self, frame: Frame) -> None:
        view = self.view(frame.t, dst=self.overlay.view_buffer(frame, "sky"))
        self.overlay.compose(frame, view, "sky")


def prepare(ctx: LayerContext) -> SkyCanvas | None:
    """The sky's canvas, or None where the photo has too little sky to drift or its sky is a star
    field (the star layer turns that)."""
    scene = ctx.scene
    if scene.fraction("sky") < 0.02 or scene.star_field:
        return None
    h, w = ctx.height, ctx.width
    coarse = scene.mask("sky", w, h, feather_px=0.0)
    rows = np.nonzero(coarse.max(axis=1) > 0.5)[0]
    if rows.size == 0:
        return None
    # work on the sky rows plus a margin of zeros below, so erosion and blur see the sky's end
    sb = min(h, int(rows[-1]) + 1 + round(16 * ctx.scale))
    photo = ctx.image[:sb]
    sky = (coarse[:sb] > 0.5).astype(np.float32)
    thin = _thin_things(photo, sky, ctx.scale)
    # the canvas is built only from the solid interior, clear of thin things by a few pixels, so
    # nothing standing in front of the sky is ever carried by the drift
    weight = erode(sky, 3.0 * ctx.scale) * (dilate(thin, 3.0 * ctx.scale) == 0)
    filled = fill_from_mask(photo, weight)
    feather = 3.0 * ctx.scale
    # the blend weight: shrunk, then feathered inside the sky, and cut tightly around thin things.
    # A wide cut around each would show the still photo in a round patch, which reads as a dark
    # blotch next to the veiled, drifting sky (a kite's string, stars, fish made a rash of them).
    # Toward the horizon the drift fades out (distant sky barely moves; glows stay put).
    alpha = cv2.GaussianBlur(erode(sky, 2.5 * feather), (0, 0), feather)
    alpha *= _held(thin, ctx.scale)
    bottom = float(rows[-1])
    horizon_fade = np.clip(
        (bottom - np.arange(sb, dtype=np.float32)) / max(1.0, HORIZON_FADE * bottom), 0, 1
    )
    alpha = alpha * (horizon_fade * horizon_fade * (3 - 2 * horizon_fade))[:, None]
    used = np.nonzero(alpha.max(axis=1) > 1e-3)[0]
    if used.size == 0:
        return None
    sb = int(used[-1]) + 1
    alpha, filled = alpha[:sb], filled[:sb]

    speed = SKY_SPEED * ctx.scale * ctx.intensity * ctx.style.speed * ctx.plan.sky_speed
    if ctx.options.loop:
        # a loop cross-fades two drifting copies: keep them close (18 px/s at 720p)
        speed *= 0.53
    direction = ctx.plan.sky_direction or (1 if ctx.rng.random() < 0.5 else -1)
    velocity = speed * direction
    margin = math.ceil(abs(velocity) * ctx.timeline.period) + 4
    left, right = (margin, 1) if direction > 0 else (1, margin)
    canvas = _extend_sky(filled, left, right)
    # clouds are drawn on a fixed stretch of sky (wide enough for the longest clip), so a
    # clip's length does not change them
    reach = 4 * math.ceil((speed * MAX_DURATION_S + 8) / 4)
    canvas = paint_clouds(ctx, canvas, sb, left, reach)
    canvas_u8 = cv2.cvtColor(np.clip(canvas + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2RGBA)
    phases = tuple(
        cv2.warpAffine(
            canvas_u8,
            np.array([[1, 0, -k / SUBPIXEL_PHASES], [0, 1, 0]], np.float32),
            (canvas_u8.shape[1], sb),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        for k in range(SUBPIXEL_PHASES)
    )
    motion = {
        "region": "sky",
        "kind": "drift",
        "speed_px_s": round(velocity, 2),
        "clouds_added": round(cloud_opacity(ctx), 3),
    }
    return SkyCanvas(phases, alpha, float(left), velocity, (motion,))


def _thin_things(photo: np.ndarray, sky: np.ndarray, scale: float) -> np.ndarray:
    """1 on thin things standing in front of the sky that the small analysis image missed (cables,
    lattice beams, a mast's tip) and a pixel around them: their colour is off the sky's, and an
    opening removes them. Full resolution: at half size faint lattice beams blend into the sky.

    Only lines and what touches the sky's edge count: specks alone in open sky are the sky's own
    grain (a deep blue sky, cirrus, stars), and held still they showed as a rash of dark dots in
    the drifting sky; left to the drift, a speck moves with it, one copy."""
    odd = _off_sky_colour(photo, sky, scale)
    k = 2 * max(1, round(5 * scale)) + 1
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    thin = odd & (1 - cv2.morphologyEx(odd, cv2.MORPH_OPEN, ellipse))
    # the pieces of a lattice or a dashed cable lie close together: judge them as one
    clusters = dilate(thin, THIN_GAP_PX * scale)
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(clusters, connectivity=8)
    keep = np.maximum(stats[:, 2], stats[:, 3]) >= THIN_LINE_PX * scale
    # a square neighbourhood is as good here as a round one, and much cheaper at full size
    k = 2 * max(1, round(SKY_EDGE_PX * scale)) + 1
    keep[labels[cv2.erode(sky, np.ones((k, k), np.uint8)) < 0.5]] = True
    keep[0] = False
    kept = keep.astype(np.uint8)[labels] & thin
    return cv2.dilate(kept, np.ones((3, 3), np.uint8))


def _held(thin: np.ndarray, scale: float) -> np.ndarray:
    """The share of the drifting sky shown around thin things: 0 on them, back to 1 within a few
    pixels, so they stay put without a patch of still sky around them."""
    near = cv2.GaussianBlur(thin.astype(np.float32), (0, 0), max(0.8, scale))
    return 1.0 - np.clip(2.0 * near, 0.0, 1.0)


def _off_sky_colour(photo: np.ndarray, sky: np.ndarray, scale: float) -> np.ndarray:
    """1 where a pixel's colour is not explained by the sky around it: a different hue (a lit
    beam, a leaf) or much darker (a silhouette). Clouds only move the sky's colour toward white or
    grey, so they are not off. The sky around is both the median around the pixel and the darkest
    sky near it: at a white cloud's edge the median is the cloud's, and the deeper blue sky beside
    it, off that colour, was held still as the cloud drifted (its edge stayed behind)."""
    # the sky around a pixel is smooth: estimate it at half size (a quarter of the cost)
    height, width = photo.shape[:2]
    half_size = ((width + 1) // 2, (height + 1) // 2)
    half = cv2.resize(photo, half_size, interpolation=cv2.INTER_AREA)
    k = 2 * max(1, round(7.5 * scale)) + 1
    median = cv2.medianBlur(half, min(k, 255))
    # what is not sky never sets the darkest sky (white does not lower the erosion's minimum)
    median_sky = median.copy()
    median_sky[cv2.resize(sky, half_size, interpolation=cv2.INTER_AREA) < 0.5] = 255
    darkest = cv2.erode(median_sky, np.ones((k, k), np.uint8))
    total, chroma = chromaticity(cv2.split(photo))
    odd = np.ones(photo.shape[:2], bool)
    for reference in (median, darkest):
        around = cv2.resize(reference, (width, height), interpolation=cv2.INTER_LINEAR)
        odd &= off_sky_colour(total, chroma, *chromaticity(cv2.split(around)))
    return odd.astype(np.uint8)


def _extend_sky(sky: np.ndarray, left: int, right: int) -> np.ndarray:
    """Widens a filled sky by `left` and `right` columns for the drift. Each new column eases from
    the sky's edge column to the row's mean colour near that edge: the vertical gradient goes on,
    and no mirrored copy of the photo's clouds (a seam that drifts in) is made."""
    width = sky.shape[1]
    near = max(1, min(width, 48))
    edge_blur = cv2.GaussianBlur(sky, (0, 0), 0.1, sigmaY=2.0)  # the edge column, softened along it
    parts: list[np.ndarray | None] = []
    for count, edge, profile_cols, side in (
        (left, edge_blur[:, :1], sky[:, :near], "left"),
        (right, edge_blur[:, -1:], sky[:, -near:], "right"),
    ):
        if count <= 0:
            parts.append(None)
            continue
        profile = profile_cols.mean(axis=1, keepdims=True)
        distance = np.arange(count, 0, -1) if side == "left" else np.arange(1, count + 1)
        ease = np.exp(-distance.astype(np.float32) / 24.0)[None, :, None]
        parts.append(profile + (edge - profile) * ease)
    pieces = [p for p in (parts[0], sky, parts[1]) if p is not None]
    return np.ascontiguousarray(np.concatenate(pieces, axis=1), dtype=np.float32)
