"""The sky: smooth blue, overcast or sunset colour and white-to-grey clouds across the frame's top.

Found by colour and texture on the analysis copy of the photo (regions.ANALYSIS_SIDE); the holes
left inside it are filled unless they are things in front of the sky (a kite, a bird)."""

from __future__ import annotations

import cv2
import numpy as np

from .regions import Box, HoleTest, components, fill_small_holes, patches_outside
from .sky_colour import chromaticity, off_sky_colour

# a hole in the sky is a thing in front of it when this share of its pixels is off the sky's
# colour around it (sky_colour), and it covers at most SKY_OBJECT_MAX of the frame (a larger hole
# is a cloud or a glow)
SKY_OBJECT_SHARE = 0.25
SKY_OBJECT_MAX = 0.01
# a patch left out of the sky that touches the frame's top or sides, not its bottom, on the sky's
# hue, is a cloud the colour test missed (too textured) when it is wide: the widest circle inside
# it has at least this radius, a share of the frame's height (a cable's: 0.017 of it on the bridge
# photo, with the halo the texture test leaves around it; the kite photo's clouds 0.043 to 0.2);
# larger than EDGE_CLOUD_MAX of the frame, it is left alone
EDGE_CLOUD_RADIUS = 0.035
EDGE_CLOUD_MAX = 0.12
# a daylit sky scatters some red (the sky's median red over blue on the evaluation photos: a deep
# blue sky looking up 0.18, a clear sky 0.31, hazy ones 0.4 to 1); water absorbs red within a few
# metres (an aquarium 0.02). Bright blue with less red than this is under water. A night sky may
# be as red-less (the aurora's teal, 0.02) but is far darker than UNDERWATER_BLUE.
UNDERWATER_RED = 0.08
UNDERWATER_BLUE = 100.0
# a sky meets water only at a level line (a sea's horizon, a waterline): the median distance of
# their border from the straight line fitted to it is 0 to 0.0004 of the height on the evaluation
# photos; along a breaking wave's spray, 0.012
SPRAY_RAGGED = 0.005
SPRAY_GAP = 3  # rows between the sky and water below it that still make them meet
SPRAY_MIN_WIDTH = 0.2  # share of the width: a shorter border (a gap between trees) shows no line


def find_sky(
    r: np.ndarray,
    g: np.ndarray,
    b: np.ndarray,
    vmax: np.ndarray,
    sat: np.ndarray,
    texture: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """The sky as a 0/1 float32 mask at analysis size, from the analysis image's channels, brightest
    channel, saturation, texture (regions.texture_of) and each row's share of the height: smooth
    blue, overcast or sunset colour and clouds, reaching the frame's top."""
    h, w = r.shape
    # teal as bright and saturated as a breaking wave's face or a pool is water, not sky: skies
    # that saturated are blue (blue well over green); the aurora's dark teal sky stays sky
    teal = (g > 0.9 * b) & (sat > 0.6) & (vmax > 100)
    blue = (b > r + 6) & (b > g - 12) & (vmax > 35) & ~teal
    overcast = (vmax > 150) & (sat < 0.22)
    sunset = (vmax > 110) & (r > b + 10) & (sat > 0.2) & (rows < 0.55)
    smooth = texture < 4.5
    # clouds: white to grey, textured inside and at their edges
    cloudlike = (vmax > 120) & (sat < 0.35) & (texture < 14.0) & (rows < 0.7)
    # smooth sky may reach the frame's bottom (an all-sky photo); a lake or sea that joins it is
    # cut off again at the waterline
    cand = ((blue | overcast | sunset) & smooth) | cloudlike
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
    top_rows = max(1, int(0.06 * h))
    min_area = 0.01 * h * w

    def keep(stats, _region) -> bool:
        _x, y, _cw, _ch, area = stats
        return y < top_rows and area >= min_area

    sky = components(cand, keep)
    if sky.mean() < 0.02 or _under_water(r, b, sky):
        return np.zeros_like(sky)
    off_the_sky = _off_the_sky(r, g, b)

    def object_in_sky(hole: np.ndarray, box: Box) -> bool:
        # a larger hole is a cloud or a glow
        return hole.sum() <= SKY_OBJECT_MAX * r.size and off_the_sky(hole, box)

    sky = fill_small_holes(sky, 0.02, keep_open=object_in_sky)
    return _with_clouds_at_the_edge(sky, vmax, off_the_sky)


def _under_water(r: np.ndarray, b: np.ndarray, sky: np.ndarray) -> bool:
    """Whether what passed the sky's colour test is water seen from under it (an aquarium, a dive):
    bright blue with almost no red. Drifted like a sky, it carried the pale fish along and left
    still holes around the others."""
    inside = sky > 0.5
    blue = float(np.median(b[inside]))
    return blue > UNDERWATER_BLUE and float(np.median(r[inside])) < UNDERWATER_RED * blue


def _with_clouds_at_the_edge(
    sky: np.ndarray, vmax: np.ndarray, off_the_sky: HoleTest
) -> np.ndarray:
    """The sky with the clouds cut by the frame's top or sides added: textured white or grey the
    colour test left out, never a hole since the frame's edge bounds it. Left out, they stood
    still while the sky drifted past them. Such a cloud is lighter than the sky around it; a
    dark shore reaching in from the side of a misty lake that mirrors the sky is not."""
    h, _w = sky.shape
    out = sky.copy()
    for patch in patches_outside(sky):
        if not patch.edges or "bottom" in patch.edges or patch.area > EDGE_CLOUD_MAX * sky.size:
            continue
        ring = cv2.dilate(patch.pixels.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        ring &= ~patch.pixels
        lighter = float(vmax[patch.box][patch.pixels].mean()) > float(vmax[patch.box][ring].mean())
        if (
            lighter
            and _widest_radius(patch.pixels) >= EDGE_CLOUD_RADIUS * h
            and not off_the_sky(patch.pixels, patch.box)
        ):
            out[patch.box][patch.pixels] = 1.0
    return out


def _widest_radius(pixels: np.ndarray) -> float:
    """The radius of the widest circle inside a patch, in pixels; the frame's edge, where its box
    ends, does not bound it (the patch goes on beyond the photo)."""
    padded = cv2.copyMakeBorder(pixels.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    return float(cv2.distanceTransform(padded, cv2.DIST_L2, 5).max())


def _off_the_sky(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> HoleTest:
    """Tells a thing in front of the sky (a kite, a bird, a balloon) from a patch of sky the colour
    test missed (a cloud's textured core, the sun): a good share of the hole is off the colour of
    the sky around it (sky_colour). A filled object would be carried by the drift: a second copy
    sliding away from the still one."""
    total, chroma = chromaticity((r, g, b))

    def keep_open(hole: np.ndarray, box: Box) -> bool:
        ring = cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
        ring &= ~hole
        if not ring.any():
            return False
        sky_chroma = [float(c[box][ring].mean()) for c in chroma]
        off = off_sky_colour(
            total[box][hole],
            [c[box][hole] for c in chroma],
            float(total[box][ring].mean()),
            sky_chroma,
        )
        return float(off.mean()) >= SKY_OBJECT_SHARE

    return keep_open


def without_spray(sky: np.ndarray, water: np.ndarray) -> np.ndarray:
    """The sky less the spray of a breaking wave: white and textured, it passes the cloud test,
    and drifted, it slid sideways like a cloud over the rolling wave. What meets water along a
    ragged line is not sky; the sky components that do are dropped."""
    h, w = sky.shape
    inside, wet = sky > 0.5, water > 0.5
    water_below = np.zeros_like(wet)
    for gap in range(1, SPRAY_GAP + 1):
        water_below[:-gap] |= wet[gap:]
    border = inside & water_below
    columns = np.nonzero(border.any(axis=0))[0]
    if columns.size < SPRAY_MIN_WIDTH * w:
        return sky
    rows = (h - 1 - np.argmax(border[::-1, columns], axis=0)).astype(np.float64)
    slope, offset = np.polyfit(columns, rows, 1)
    if float(np.median(np.abs(rows - (slope * columns + offset)))) <= SPRAY_RAGGED * h:
        return sky
    return components(inside, lambda _stats, region: not (region & border).any())
