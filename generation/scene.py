"""Scene analysis from classical vision: sky, water, foliage, faces, bright lights and coarse depth.

Everything is computed on a small copy of the photo (long side ANALYSIS_SIDE) and exposed as data,
so the generator (which motions go where) and the safety layer (what was animated) can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .haze import haziness
from .regions import ANALYSIS_SIDE, components, fill_small_holes, stripes, texture_of
from .sky_region import find_sky, without_spray
from .star_field import star_field
from .waterline import split_at_waterline
from .white_water import white_water

WATER_MIN_HEIGHT = 0.05  # share of the frame's height: thinner bands are distant land
WATER_TOP_SPREAD = 0.04  # interquartile spread of a water region's top edge, share of the height
PORTRAIT_FACE = 0.1  # a face taller than this share of the frame: a portrait, close to the camera
LIGHT_LEVEL = 245  # grey level of a point light's core
LIGHT_MAX_AREA = 0.0003  # share of the frame: larger bright spots are highlights, not points
LIGHT_CONTRAST = 90  # a point light is this much brighter than the mean around it
# lamps read as lights at dusk and at night; in daylight a bright point on land is nearly always a
# highlight on a thing (chrome, a glove, a medal), where a twinkle looks like a fault
LIGHTS_MAX_LUMA = 0.3
# leaves reflect some red (chlorophyll absorbs most, never all): red over green in the evaluation
# photos' foliage is 0.45 and up (its 1st percentile); an aurora's glow and its reflection, light
# emitted green, 0.04. Bright leaves (brightest channel over FOLIAGE_BRIGHT) reflect a little blue
# as well (blue over green 0.07 and up, 1st percentile); the aurora's yellow-green core and its
# reflection in a lake have none (median 0.03)
FOLIAGE_MIN_RED = 0.25
FOLIAGE_MIN_BLUE = 0.05
FOLIAGE_BRIGHT = 150


@dataclass
class Scene:
    """Region masks (0/1 float32 at analysis size), faces in full-image pixels, and summary numbers."""

    width: int
    height: int
    sky: np.ndarray
    water: np.ndarray
    foliage: np.ndarray
    faces: list[tuple[int, int, int, int]] = field(default_factory=list)
    lights: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # (x, y, radius), full-image pixels
    horizon: float = 0.45  # fraction of height where the sky meets the ground
    luma: float = 0.5  # mean brightness in [0, 1]
    sky_luma: float = 0.0
    sky_texture: float = 0.0  # 0 clear sky .. 1 heavily textured (clouds)
    water_texture: float = 0.0  # 0 a smooth mirror .. 1 rough water with waves of its own
    # 0 texture in every direction .. 1 parallel lines only (a road, a rail), in what nothing animates
    still_stripes: float = 0.0
    sky_color: tuple[int, int, int] = (0, 0, 0)
    haze: float = 0.0  # 0 crisp .. 1 mist, in the band below the horizon (generation.haze)
    airlight: tuple[int, int, int] = (255, 255, 255)  # the colour haze lifts things toward
    # each pixel's dark channel over the airlight: ~0 crisp and near, ~1 already lost in haze
    hazy: np.ndarray | None = None
    # the white water of a stream or fall (generation.white_water), a part of `water` that runs
    # downstream rather than rolling in place
    foam: np.ndarray | None = None
    # the sky is mostly a night star field (generation.star_field): the stars layer turns it whole,
    # the cloud sky's drift leaves it alone
    star_field: bool = False

    @property
    def analysis_shape(self) -> tuple[int, int]:
        return self.sky.shape[0], self.sky.shape[1]

    def fraction(self, name: str) -> float:
        if name == "faces":
            area = sum(w * h for _x, _y, w, h in self.faces)
            return min(1.0, area / float(self.width * self.height))
        region = getattr(self, name)
        return 0.0 if region is None else float(region.mean())

    @property
    def is_night(self) -> bool:
        return self.luma < 0.18

    def face_mask(self) -> np.ndarray:
        """Faces as a 0/1 mask at analysis size (slightly enlarged boxes)."""
        h, w = self.analysis_shape
        mask = np.zeros((h, w), np.float32)
        sx, sy = w / self.width, h / self.height
        for x, y, fw, fh in self.faces:
            pad_w, pad_h = 0.25 * fw, 0.35 * fh
            x0, y0 = int((x - pad_w) * sx), int((y - pad_h) * sy)
            x1, y1 = int(np.ceil((x + fw + pad_w) * sx)), int(np.ceil((y + fh + pad_h) * sy))
            mask[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = 1.0
        return mask

    def mask(
        self, name: str, width: int, height: int, *, feather_px: float, inset_px: float = 0.0
    ) -> np.ndarray:
        """A region as float32 alpha at (height, width), feathered; `inset_px` shrinks it first so the
        feathered edge stays inside the region (the region's own border is never animated)."""
        base = self.face_mask() if name == "faces" else getattr(self, name)
        _h, w = base.shape
        scale = width / w
        m = base
        inset = inset_px / scale
        if inset > 0.25:
            k = 2 * int(np.ceil(inset)) + 1
            m = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        sigma = feather_px / scale
        if sigma > 0.2:
            m = cv2.GaussianBlur(m, (0, 0), sigma)
        out = cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(out, 0.0, 1.0, out=out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "regions": {
                name: round(self.fraction(name), 4)
                for name in ("sky", "water", "foam", "foliage", "faces")
            },
            "faces": len(self.faces),
            "lights": len(self.lights),
            "horizon": round(self.horizon, 4),
            "depth": "vertical-position",
            "luma": round(self.luma, 4),
            "sky_texture": round(self.sky_texture, 4),
            "water_texture": round(self.water_texture, 4),
            "still_stripes": round(self.still_stripes, 4),
            "haze": round(self.haze, 4),
            "night": self.is_night,
            "star_field": self.star_field,
        }


def analyze_scene(
    image: np.ndarray,
    *,
    find_faces: bool = True,
    faces: list[tuple[int, int, int, int]] | None = None,
) -> Scene:
    """Analyses an RGB uint8 (H, W, 3) image; cheap enough to run on every generation.

    Faces come from `faces` (boxes found by the caller, e.g. the safety layer's input gate) or,
    when none are given, from the same face detector (`detect_faces`).
    """
    height, width = image.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(height, width))
    aw, ah = max(8, round(width * scale)), max(8, round(height * scale))
    small = cv2.resize(image, (aw, ah), interpolation=cv2.INTER_AREA)
    f = small.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    vmax = f.max(axis=2)
    vmin = f.min(axis=2)
    sat = (vmax - vmin) / np.maximum(vmax, 1.0)
    gray_levels = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    gray = gray_levels.astype(np.float32)
    texture = texture_of(gray)
    rows = (np.arange(ah, dtype=np.float32) / max(ah - 1, 1))[:, None]
    luma = float(gray.mean() / 255.0)

    if faces is None:
        faces = detect_faces(image) if find_faces else []
    stars = star_field(gray_levels)
    # a star field is sky the colour test cannot see (its stars make it far too textured)
    sky = np.maximum(find_sky(r, g, b, vmax, sat, texture, rows), stars)
    sky = _without_backdrop(sky, faces, width / aw, height / ah)
    if stars.any():
        # no waterline is looked for in a star field: its stars' texture crosses every row (the
        # Milky Way's, even median-filtered, 64 % of the width where the test wants 60 %)
        below_line = np.zeros_like(sky)
    else:
        sky, below_line = split_at_waterline(small, sky)
    horizon = _horizon(sky)
    people = _people_mask(faces, aw, ah, width / aw, height / ah)
    water = _water(r, g, b, vmax, texture, rows, sky, horizon, below_line)
    sky = without_spray(sky, water)
    horizon = _horizon(sky)  # the spray's line, if it was dropped, is no horizon
    foam = white_water(f, vmax, sat, gray, texture, rows, sky, people)
    water = np.maximum(water, foam)
    foliage = _foliage(small, vmax, sat, texture, sky, water)

    sky_px = sky > 0.5
    if sky_px.any():
        sky_color = tuple(int(c) for c in np.median(small[sky_px], axis=0))
        sky_luma = float(gray[sky_px].mean() / 255.0)
    else:
        sky_color, sky_luma = (0, 0, 0), 0.0
    lights = _lights(gray, sky, people, scale) if luma <= LIGHTS_MAX_LUMA else []
    haze, airlight, hazy = haziness(small, sky, horizon)
    return Scene(
        width=width,
        height=height,
        sky=sky,
        water=water,
        foliage=foliage,
        faces=faces,
        lights=lights,
        horizon=horizon,
        luma=luma,
        sky_luma=sky_luma,
        sky_texture=_region_texture(texture, sky),
        water_texture=_region_texture(texture, water),
        still_stripes=stripes(gray, (sky < 0.5) & (water < 0.5) & (foliage < 0.5)),
        sky_color=sky_color,  # type: ignore[arg-type]
        haze=haze,
        airlight=airlight,  # type: ignore[arg-type]
        hazy=hazy,
        foam=foam if foam.any() else None,
        star_field=bool((stars * sky).sum() > 0.5 * sky.sum() > 0),
    )


def _region_texture(texture: np.ndarray, region: np.ndarray) -> float:
    """How textured a region is: 0 smooth .. 1 busy (its median gradient, 3 grey levels and up)."""
    inside = region > 0.5
    if not inside.any():
        return 0.0
    return float(np.clip(np.median(texture[inside]) / 3.0, 0.0, 1.0))


def _face_boxes(
    faces: list[tuple[int, int, int, int]], sx: float, sy: float
) -> list[tuple[float, float, float, float]]:
    """Face boxes at analysis size (x, y, w, h)."""
    return [(x / sx, y / sy, w / sx, h / sy) for x, y, w, h in faces]


def _people_mask(
    faces: list[tuple[int, int, int, int]], width: int, height: int, sx: float, sy: float
) -> np.ndarray:
    """Where people are likely, at analysis size: each face box widened, and the body below it."""
    mask = np.zeros((height, width), np.uint8)
    for x, y, w, h in _face_boxes(faces, sx, sy):
        x0, x1 = int(x - 1.0 * w), int(np.ceil(x + 2.0 * w))
        y0, y1 = int(y - 0.6 * h), int(np.ceil(y + 5.0 * h))
        mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 1
    return mask


def _without_backdrop(
    sky: np.ndarray, faces: list[tuple[int, int, int, int]], sx: float, sy: float
) -> np.ndarray:
    """Drops sky that may be a backdrop behind a person: a blue or grey studio wall looks like clear
    sky, and clouds drifting behind a person read as a fake. A close-up portrait (a face taller
    than PORTRAIT_FACE of the frame) keeps no sky; a half-size face drops the sky components that
    touch the band around it; behind smaller faces (people in a landscape) only the face itself is
    taken out."""
    if not faces or not sky.any():
        return sky
    h, w = sky.shape
    _count, labels = cv2.connectedComponents((sky > 0.5).astype(np.uint8), connectivity=4)
    out = sky.copy()
    for x, y, fw, fh in _face_boxes(faces, sx, sy):
        if fh >= PORTRAIT_FACE * h:
            return np.zeros_like(sky)
        x0, y0 = max(0, int(x - 0.8 * fw)), max(0, int(y - 0.5 * fh))
        x1, y1 = min(w, int(np.ceil(x + 1.8 * fw))), min(h, int(np.ceil(y + 1.5 * fh)))
        if fh >= 0.5 * PORTRAIT_FACE * h:
            for label in np.unique(labels[y0:y1, x0:x1]):
                if label:
                    out[labels == label] = 0.0
        else:
            x0, y0 = max(0, int(x - 0.25 * fw)), max(0, int(y - 0.35 * fh))
            x1, y1 = min(w, int(np.ceil(x + 1.25 * fw))), min(h, int(np.ceil(y + 1.35 * fh)))
            out[y0:y1, x0:x1] = 0.0
    return out if out.mean() >= 0.02 else np.zeros_like(out)


def _horizon(sky: np.ndarray) -> float:
    h, w = sky.shape
    has = sky.any(axis=0) if sky.dtype == bool else (sky > 0.5).any(axis=0)
    if has.sum() < 0.2 * w:
        return 0.45
    lowest = h - np.argmax((sky > 0.5)[::-1, :], axis=0)
    return float(np.clip(np.median(lowest[has]) / h, 0.05, 0.95))


def _water(r, g, b, vmax, texture, rows, sky, horizon, below_line) -> np.ndarray:
    h, w = r.shape
    bluish = (b > r + 4) & (vmax > 45)
    teal = (g > r + 8) & (b > r + 8) & (vmax > 45)
    cand = (bluish | teal) & (texture < 9.0) & (rows > horizon - 0.02) & (sky < 0.5)
    cand = cand | (below_line > 0.5)
    if not (sky > 0.5).any():
        # water is found by what it mirrors and where it lies under the sky: with no sky seen, a
        # smooth blue area is a wall or a backdrop far more often than a lake
        return np.zeros_like(sky)
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # grass stems and posts in front of the water cut it into pieces: join them along rows for
    # judging the region, and keep only the water pixels themselves
    joined = cv2.morphologyEx(
        cand, cv2.MORPH_CLOSE, np.ones((1, 2 * round(0.02 * w) + 1), np.uint8)
    )
    min_area = 0.02 * h * w
    # water mirrors the sky: it is rarely much darker than the sky just above the horizon
    sky_rows = (sky > 0.5) & (rows > horizon - 0.2)
    floor = 0.6 * float(vmax[sky_rows].mean()) if sky_rows.any() else 0.0

    def keep(stats, region) -> bool:
        _x, _y, cw, ch, area = stats
        if area < min_area or cw < 0.3 * w or ch < WATER_MIN_HEIGHT * h:
            return False
        if float(vmax[region].mean()) < floor:
            return False
        # water lies flat: its top edge is a level line (a far shore, the sea's horizon), where
        # hills and mountains have ragged tops
        columns = np.nonzero(region.any(axis=0))[0]
        tops = np.argmax(region[:, columns], axis=0)
        spread = float(np.percentile(tops, 75) - np.percentile(tops, 25))
        return spread <= WATER_TOP_SPREAD * h

    water = components(joined > 0, keep) * cand
    return fill_small_holes(water, 0.002) if water.any() else water


def _foliage(small, vmax, sat, texture, sky, water) -> np.ndarray:
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0].astype(np.float32)
    f = small.astype(np.float32)
    red, green_level, blue = f[..., 0], f[..., 1], f[..., 2]
    reflected = (red >= FOLIAGE_MIN_RED * green_level) & (
        (blue >= FOLIAGE_MIN_BLUE * green_level) | (vmax <= FOLIAGE_BRIGHT)
    )
    green = (
        (hue >= 28) & (hue <= 85) & (sat > 0.18) & (vmax > 30) & (green_level >= red) & reflected
    )
    cand = green & (texture > 2.0) & (sky < 0.5) & (water < 0.5)
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    cand = cv2.morphologyEx(cand, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
    min_area = 0.003 * cand.size
    return components(cand, lambda stats, _r: stats[4] >= min_area)


def detect_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces in an RGB image as (x, y, w, h) in its pixels, by the safety layer's detector.

    Only a fallback: the pipeline hands the generator the input gate's boxes (detected once);
    this runs when a caller of `generate_clip` or `analyze_scene` gives none."""
    from safety.faces import shared_detector  # late: the model loads only when needed

    height, width = image.shape[:2]
    return [
        (round(f.x * width), round(f.y * height), round(f.width * width), round(f.height * height))
        for f in shared_detector().find(Image.fromarray(image))
    ]


def _lights(
    gray: np.ndarray, sky: np.ndarray, people: np.ndarray, scale: float
) -> list[tuple[int, int, int]]:
    """Point lights outside the sky (lamps, sun glints): candidates for twinkling. Only small, very
    bright, compact spots much brighter than what is around them; never the sun's disc or a large
    highlight, and never on or near people (a twinkle on a camera, a glove or a medal looks like a
    fault)."""
    h, w = gray.shape
    bright = ((gray >= LIGHT_LEVEL) & (sky < 0.5) & (people == 0)).astype(np.uint8)
    count, _labels, stats, centroids = cv2.connectedComponentsWithStats(bright, connectivity=8)
    if count <= 1:
        return []
    # what is around a spot: the mean of a window a few spot sizes across (the spot itself is a
    # small part of it)
    around = cv2.blur(gray, (15, 15))
    max_area = max(2.0, LIGHT_MAX_AREA * h * w)
    lights = []
    for label in range(1, count):
        _x, _y, bw, bh, area = stats[label]
        if area > max_area or max(bw, bh) > 3 * min(bw, bh) or area < 0.35 * bw * bh:
            continue
        cx, cy = centroids[label]
        if float(around[int(cy), int(cx)]) > LIGHT_LEVEL - LIGHT_CONTRAST:
            continue
        radius = max(2.0, np.sqrt(area / np.pi) * 3.0)
        lights.append((int(cx / scale), int(cy / scale), int(radius / scale)))
    lights.sort(key=lambda light: -light[2])
    return lights[:24]
