"""A night star field: dark sky crowded with points of light, which the sky test never reads as sky.

Stars make a dark sky's texture far higher than a clear day's (the Milky Way photo: 7.3 grey levels
where the sky test stops at 4.5), so the field is found by what it is made of: points of light,
each much brighter than a dark, smooth background just around it (the photo with the points taken
out by a 5-pixel median), packed closely, over a dark background that is smooth once they are taken
out, and lying as a sky does (across the frame's top). On the evaluation photos and the
face-detection set (2026-12-07, points per 1000 pixels of the 384-wide analysis image, over their
dark smooth background): the Milky Way 32.0, the Hubble deep field 10.8; the aurora's sparse stars
0.2, a rocket on its pad at night with its floodlights 0.9, a bokeh graphic 1.4, every daytime
photo 0 to 1.2. Sun flecks in shade under trees and a street's bokeh are dense enough but their
background is busier (median texture 2.9 to 4.4 against the Milky Way's 1.5). Lit windows in towers
are dense points on a dark, smooth facade; towers reaching the top fill only part of its width. In
front of the field, what shows a wider gap without stars than chance would leave and is darker than
the sky (hills, a tree's crown), or is much darker than the sky however narrow (a trunk), is left
out.
"""

from __future__ import annotations

import cv2
import numpy as np

from .regions import components, fill_small_holes, texture_of

# grey level: the background between the stars is darker (the Milky Way's glow: 98 at most)
NIGHT_SKY_LEVEL = 110
NIGHT_SKY_TEXTURE = 6.0  # regions.texture_of's grey levels of that background, stars taken out
POINT_CONTRAST = 20.0  # grey levels a star stands over its background
POINT_MAX_AREA = 6  # pixels at analysis size: larger bright spots are lamps, the moon, glints
DENSITY_SIGMA = 6.0  # pixels at analysis size over which stars are counted around each pixel
FIELD_DENSITY = 0.004  # stars per pixel from which a piece of dark sky belongs to a field
STAR_FIELD_DENSITY = 0.008  # stars per pixel over the whole field for it to be one (aurora: 0.0002)
# the median texture of a field's background: the Milky Way 1.5, shade under trees 2.9 and up
FIELD_TEXTURE = 2.2
MIN_FIELD = 0.05  # share of the frame a star field covers at least
TOP_ROWS = 0.06  # a field reaches into this top share of the frame, as a sky does
FIELD_TOP_SPAN = 0.5  # and spans this share of its width there (lit towers reaching the top: 0.24)
# a gap without stars this many times as wide as the widest that chance leaves is something in
# front of the field (the Milky Way's widest: 1.2 times; a tree's crown 20 % of the height
# across, 2 to 2.7 times)
GAP_EXCESS = 2.0
# and its glow darker than this share of the sky's near stars (the drawn trees' crowns: 0.5 to 0.8)
GAP_DARKER = 0.85
# darker than this share of the sky's glow near stars: in front however narrow (the Milky Way's
# dark lanes, beside its bright band: 0.46 and up)
SILHOUETTE_BLACK = 0.4
SILHOUETTE_DARK = 0.55  # and what is joined to such a core and darker than this share is too
DENSITY_SPAN = 0.16  # share of the width over which the stars' density around a gap is read
SKY_LEVEL_SPAN = 0.08  # share of the width over which the sky's glow around a pixel is taken
SKY_LEVEL_WIDTH = 96  # pixels across at which it is read


def star_field(gray: np.ndarray) -> np.ndarray:
    """The night star field of an analysis-size grey image (uint8) as a 0/1 float32 mask, the
    stars in it included and what stands in front of it (hills, a tree, a person) left out; all
    zero where there is none."""
    h, w = gray.shape
    background = cv2.medianBlur(gray, 5)
    texture = texture_of(background)
    night = (background < NIGHT_SKY_LEVEL) & (texture < NIGHT_SKY_TEXTURE)
    top_rows = max(1, int(TOP_ROWS * h))
    if night[:top_rows].any(axis=0).mean() < FIELD_TOP_SPAN:
        return np.zeros((h, w), np.float32)  # no dark sky across the top: most photos end here
    stars = _points(gray, background)
    points = stars & night
    density = cv2.GaussianBlur(points.astype(np.float32), (0, 0), DENSITY_SIGMA)
    dense = cv2.dilate((density > FIELD_DENSITY).astype(np.uint8), np.ones((3, 3), np.uint8))
    # the field's own stars and the glow between them fail `night` pixel by pixel: close over them
    candidate = cv2.morphologyEx(
        ((dense > 0) & (night | points)).astype(np.uint8),
        cv2.MORPH_CLOSE,
        np.ones((5, 5), np.uint8),
    )
    field = _sky_pieces(candidate > 0)
    inside = field > 0.5
    if (
        not inside.any()
        or points[inside].mean() < STAR_FIELD_DENSITY
        or np.median(texture[inside]) > FIELD_TEXTURE
    ):
        return np.zeros((h, w), np.float32)
    # small pieces left out at the frame's edge (a corner's faint stars) are holes too: the frame
    # is padded with field while they are filled
    padded = cv2.copyMakeBorder(field, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1.0)
    field = fill_small_holes(padded, 0.02)[1:-1, 1:-1]
    field[_silhouettes(stars, background, field)] = 0.0
    field = _sky_pieces(field > 0.5)
    if (field[:top_rows].max(axis=0) > 0.5).mean() < FIELD_TOP_SPAN:
        return np.zeros((h, w), np.float32)
    return field


def _sky_pieces(mask: np.ndarray) -> np.ndarray:
    """The pieces of a mask that lie as a sky does: reaching into the frame's top rows, and
    large."""
    h, w = mask.shape
    top_rows = max(1, int(TOP_ROWS * h))

    def keep(stats, _region) -> bool:
        _x, y, _cw, _ch, area = stats
        return y < top_rows and area >= MIN_FIELD * h * w

    return components(mask, keep)


def _silhouettes(points: np.ndarray, background: np.ndarray, field: np.ndarray) -> np.ndarray:
    """What stands in front of the field (hills, a tree, a person): a gap without stars wider than
    chance leaves between scattered stars and darker than the sky around it, or, however narrow (a
    trunk, a post), much darker than the sky near stars. Found as the gap's core (the pixels that
    far from every star), grown back by that distance."""
    inside = field > 0.5
    count = max(2, int(points[inside].sum()))
    # the largest gap chance leaves among `count` stars scattered at a density has a radius of
    # about sqrt(ln(count) / (pi density)) (the Milky Way: 8.5 px expected, 10.2 found); the
    # density is read over a sixth of the width around, as it falls toward a photo's darkened
    # corners, and what is in front of the field is far smaller than that
    sigma = DENSITY_SPAN * field.shape[1]
    around = cv2.GaussianBlur((points & inside).astype(np.float32), (0, 0), sigma) / np.maximum(
        cv2.GaussianBlur(inside.astype(np.float32), (0, 0), sigma), 1e-3
    )
    chance = np.sqrt(np.log(count) / (np.pi * np.maximum(around, 1e-4)))
    margin = min(round(GAP_EXCESS * float(chance[inside].max())) + 1, *field.shape)
    distance = _distance_to_stars(points, margin)
    reach = GAP_EXCESS * float(np.median(chance[inside]))
    # the sky's glow is read near stars: what stands in front would darken it
    sky = sky_level(background, inside & (distance <= reach))

    def darker(_stats, region) -> bool:
        # a gap as bright as the sky around it is sky whose stars are too faint to count (a glow)
        return float(background[region].mean()) < GAP_DARKER * float(sky[region].mean())

    core = components(distance > GAP_EXCESS * chance, darker).astype(np.uint8)
    # grown back by the gap's reach
    k = 2 * round(reach) + 1
    wide = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    # near-black cores, and what joins them a little less dark (a trunk's texture crosses the
    # line here and there)
    ratio = background / np.maximum(sky, 1.0)
    cores = cv2.morphologyEx(
        (ratio < SILHOUETTE_BLACK).astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)
    )
    black = components(ratio < SILHOUETTE_DARK, lambda _s, region: bool(cores[region].any()))
    return wide | (cv2.dilate(black.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)


def _distance_to_stars(points: np.ndarray, margin: int) -> np.ndarray:
    """Each pixel's distance to the nearest star, the stars mirrored beyond the frame's edges:
    the frame's edge is no gap (the Milky Way's corners, read without the mirror, were)."""
    starless = cv2.copyMakeBorder((~points).astype(np.uint8), *[margin] * 4, cv2.BORDER_REFLECT)
    distance = cv2.distanceTransform(starless, cv2.DIST_L2, 5)
    return distance[margin:-margin, margin:-margin]


def sky_level(level: np.ndarray, field: np.ndarray) -> np.ndarray:
    """The field's glow around each pixel (grey levels): its mean over the field within about a
    tenth of the width. A night sky brightens toward the horizon, where what stands in front of
    it is. Read at a small size (it is smooth): at 720p a blur that wide took 0.6 s."""
    h, w = level.shape
    size = (min(w, SKY_LEVEL_WIDTH), max(1, round(h * min(w, SKY_LEVEL_WIDTH) / w)))
    inside = cv2.resize(field.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    total = cv2.resize(level.astype(np.float32) * field, size, interpolation=cv2.INTER_AREA)
    sigma = SKY_LEVEL_SPAN * size[0]
    total = cv2.GaussianBlur(total, (0, 0), sigma)
    mean = total / np.maximum(cv2.GaussianBlur(inside, (0, 0), sigma), 1e-3)
    return cv2.resize(mean, (w, h), interpolation=cv2.INTER_LINEAR)


def _points(gray: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Small spots much brighter than their background, one pixel each (at their centre)."""
    bright = (gray.astype(np.float32) - background > POINT_CONTRAST).astype(np.uint8)
    _count, _labels, stats, centroids = cv2.connectedComponentsWithStats(bright, connectivity=8)
    out = np.zeros(gray.shape, bool)
    small = stats[1:, 4] <= POINT_MAX_AREA
    xs = centroids[1:, 0][small].astype(int)
    ys = centroids[1:, 1][small].astype(int)
    out[ys, xs] = True
    return out
