"""Star layer: a night star field turning slowly as one about a pole above the frame.

The cloud sky's canvas cannot carry stars: it fills holes and cuts out thin things, and in a dense
field the stars faded out of its drift (NOTES.md, the Milky Way photo). Here the field is lifted
whole, every star kept, onto a canvas with margins all round; what lies outside the frame or behind
the hills and trees is filled with the field's smooth glow and the stars of another part of the
field, so what turns into view is as starry as the rest. Each frame turns the canvas by the sky's
angle about the pole and blends it over the photo through the field's mask, shrunk and feathered
inside the field, so the ground, trees and people stand still with a soft edge against the turning
sky. The brightest stars twinkle gently (twinkle.Sparkle), carried by the turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..star_field import SILHOUETTE_BLACK, sky_level
from .camera import CameraPush
from .context import LayerContext, Timeline
from .frame import Frame
from .imaging import dilate, erode, fill_from_mask
from .overlay import Overlay
from .sky import MAX_DURATION_S
from .twinkle import Sparkle

# px per second at 720p where the field crosses the frame's middle: a sky turning as in a slow
# time-lapse, under the cloud sky's drift (34) so the stars stay points
STAR_SPEED = 6.0
POLE_ABOVE = 1.2  # the pole lies this many frame heights above the frame's top
POLE_ACROSS = 0.5  # and up to this share of the width left or right of its middle
FEATHER_PX = 2.0  # at 720p: the field's edge against what stands in front of it
EDGE_ANALYSIS_PX = 3.0  # the scene mask's edge is this many analysis pixels wide, at most
# A star a pixel wide, read between pixels, shares its light with its neighbours, so a turning
# field shimmers: each frame reads the canvas bilinearly from a copy enlarged twice (bicubic, once),
# a quarter of that copy's pixel off its grid. The Milky Way at 1280x720 (640x360): star light
# over the glow within 1 % (4 %) from frame to frame, 10 % (29 %) under the photo's; read
# bilinearly at the photo's size, 5 % (17 %) and 22 % (39 %) under; bicubic at the photo's size,
# 1 % (7 %) and 5 % (22 %) under, but 45 to 73 ms a frame at 720p against 6 to 11 ms.
SUPERSAMPLE = 2
GRID_OFFSET = 0.125
TWINKLES = 12  # at most, the brightest stars
TWINKLE_FROM = 60.0  # grey levels over the glow: a star bright enough to twinkle
TWINKLE_GAIN = 0.35  # a twinkle adds up to this share of the star's own light
TWINKLE_HZ = (0.3, 0.9)
TWINKLE_SPACING_PX = 24.0  # at 720p: no two twinkling stars closer
STARS_STREAM = 0x57A2  # the layer's own random stream: other layers' draws stay as they were


@dataclass(frozen=True)
class StarCanvas:
    """The field prepared from the photo: its canvas with margins, its blend weight and its turn."""

    canvas: np.ndarray  # RGBA uint8 at SUPERSAMPLE times the photo's size: the field, filled
    origin: tuple[float, float]  # the canvas point (x, y) at the photo's (0, 0)
    alpha: np.ndarray  # float32 blend weight over the photo's top `rows` rows
    pole: tuple[float, float]  # in photo pixels, above the frame
    angular_speed: float  # radians per second, + clockwise on screen (stars below the pole go left)
    sparkles: tuple[Sparkle, ...]  # the brightest stars' twinkles, where they are at time 0
    motions: tuple[dict[str, Any], ...]

    @property
    def rows(self) -> int:
        return int(self.alpha.shape[0])

    def over(self, photo: np.ndarray, timeline: Timeline) -> StarTurn:
        """The layer that blends the turning field over an RGBA photo (overlay.Overlay)."""
        overlay = Overlay.of(photo, self.alpha)
        return StarTurn(self, timeline, int(photo.shape[1]), overlay, self.motions)


@dataclass(frozen=True)
class StarTurn:
    field: StarCanvas
    timeline: Timeline
    width: int
    overlay: Overlay
    motions: tuple[dict[str, Any], ...]

    def angle(self, t: float) -> float:
        """The field's turn at time t, radians. A loop turns out and back (Timeline.ease) instead
        of cross-fading two turning copies as the sky does: a cross-fade shows every star twice at
        half its light for most of the clip."""
        speed = self.field.angular_speed
        if self.timeline.loop:
            # out and back, at its fastest as fast as the plain clip
            return speed * self.timeline.period / math.pi * self.timeline.ease(t)
        return speed * t

    def apply(self, frame: Frame) -> None:
        field = self.field
        view = self.overlay.view_buffer(frame, "stars")
        # onto the canvas at SUPERSAMPLE times the photo's size (pixel centres: x -> 2x + 0.5)
        matrix = _canvas_from_photo(field.pole, field.origin, self.angle(frame.t)) * SUPERSAMPLE
        matrix[:, 2] += (SUPERSAMPLE - 1) / 2
        cv2.warpAffine(
            field.canvas,
            matrix,
            (self.width, field.rows),
            dst=view,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        self.overlay.compose(frame, view, "stars")


@dataclass(frozen=True)
class StarTwinkle:
    """The brightest stars brighten and fade in turn, where the field's turn and the camera's
    push have taken them (twinkle.Sparkle draws each)."""

    turn: StarTurn
    camera: CameraPush
    motions: tuple[dict[str, Any], ...]

    def apply(self, frame: Frame) -> None:
        field = self.turn.field
        # the turn forward: the inverse of the canvas's reading, without its margins
        matrix = _canvas_from_photo(field.pole, (0.0, 0.0), -self.turn.angle(frame.t))
        rows, width = field.alpha.shape
        for sparkle in field.sparkles:
            x, y = matrix @ (sparkle.x, sparkle.y, 1.0)
            if 0 <= x < width and 0 <= y < rows:
                weight = float(field.alpha[int(y), int(x)])
                sparkle.draw(frame.out, frame.t, self.camera.moved(x, y, frame.zoom), weight)


def twinkle(turn: StarTurn, camera: CameraPush) -> StarTwinkle | None:
    """The twinkle of the turning field's brightest stars, or None where it has none."""
    count = len(turn.field.sparkles)
    if count == 0:
        return None
    return StarTwinkle(turn, camera, ({"region": "stars", "kind": "twinkle", "count": count},))


def _canvas_from_photo(
    pole: tuple[float, float], origin: tuple[float, float], angle: float
) -> np.ndarray:
    """The 2x3 affine that takes a photo pixel to the canvas pixel it shows once the field has
    turned by `angle` about the pole: the turn undone, then the canvas's margins added."""
    c, s = math.cos(angle), math.sin(angle)
    px, py = pole
    ox, oy = origin
    return np.array(
        [[c, s, px - c * px - s * py + ox], [-s, c, py + s * px - c * py + oy]], np.float64
    )


def prepare(ctx: LayerContext) -> StarCanvas | None:
    """The turning field, or None where the scene's sky is not a star field."""
    scene = ctx.scene
    if not scene.star_field or scene.fraction("sky") < 0.02:
        return None
    h, w = ctx.height, ctx.width
    sky = (scene.mask("sky", w, h, feather_px=0.0) > 0.5).astype(np.float32)
    used = np.nonzero(sky.max(axis=1) > 0)[0]
    if used.size == 0:
        return None
    rows = int(used[-1]) + 1
    direction = ctx.plan.sky_direction or (1 if ctx.rng.random() < 0.5 else -1)
    rng = ctx.own_rng(STARS_STREAM)
    pole = (w * (0.5 + rng.uniform(-POLE_ACROSS, POLE_ACROSS)), -POLE_ABOVE * h)
    speed = STAR_SPEED * ctx.scale * ctx.intensity * ctx.style.speed * ctx.plan.sky_speed
    # the speed is set where the field crosses the frame's middle; anticlockwise moves it right
    angular_speed = -direction * speed / (0.5 * h - pole[1])

    feather = FEATHER_PX * ctx.scale
    alpha = cv2.GaussianBlur(erode(sky[:rows], 1.5 * feather), (0, 0), feather)
    if ctx.identity is not None:
        # none at all over a face and its margin (the identity region from its half-way line in)
        alpha *= np.clip(1.0 - 2.0 * ctx.identity[:rows], 0.0, 1.0)
    # the canvas reaches as far as the longest clip's turn reads, so a clip's length changes
    # nothing on it (a longer clip continues a shorter one)
    left, top, right, bottom = _margins(pole, w, rows, angular_speed * MAX_DURATION_S)
    glow = _glow(ctx.image[:rows])
    canvas = cv2.resize(
        _fill(ctx, sky[:rows], glow, (left, top, right, bottom)),
        None,
        fx=SUPERSAMPLE,
        fy=SUPERSAMPLE,
        interpolation=cv2.INTER_CUBIC,
    )
    motion = {
        "region": "sky",
        "kind": "star field turning",
        "speed_px_s": round(direction * speed, 2),
        "pole": [round(pole[0] / w, 3), round(pole[1] / h, 3)],
    }
    origin = (left + GRID_OFFSET, top + GRID_OFFSET)
    sparkles = _twinkles(ctx, ctx.image[:rows], glow, alpha, rng)
    return StarCanvas(canvas, origin, alpha, pole, angular_speed, sparkles, (motion,))


def _twinkles(
    ctx: LayerContext,
    photo: np.ndarray,
    glow: np.ndarray,
    alpha: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Sparkle, ...]:
    """The brightest stars well inside the field, each a sparkle that adds up to TWINKLE_GAIN of
    its own light over the glow, now and then (slow, brief: a gentle twinkle, not a blink)."""
    over = cv2.cvtColor(cv2.subtract(photo, glow), cv2.COLOR_RGB2GRAY).astype(np.float32)
    spacing = max(3, round(TWINKLE_SPACING_PX * ctx.scale))
    peaks = (over == cv2.dilate(over, np.ones((spacing, spacing), np.uint8))) & (alpha > 0.99)
    ys, xs = np.nonzero(peaks & (over >= TWINKLE_FROM))
    brightest = np.argsort(-over[ys, xs], kind="stable")[:TWINKLES]
    r = max(2, round(3 * ctx.scale))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    shape = np.exp(-(xx * xx + yy * yy) / (2 * max(0.7, 1.2 * ctx.scale) ** 2))[..., None]
    sparkles = []
    for i in brightest:
        y, x = int(ys[i]), int(xs[i])
        frequency = ctx.timeline.frequency(rng.uniform(*TWINKLE_HZ))
        sprite = (shape * (TWINKLE_GAIN * over[y, x])).astype(np.float32)
        sparkles.append(
            Sparkle(float(x), float(y), sprite, frequency, rng.uniform(0, 2 * np.pi), 3.0)
        )
    return tuple(sparkles)


def _margins(
    pole: tuple[float, float], width: int, rows: int, angle: float
) -> tuple[int, int, int, int]:
    """Columns and rows (left, top, right, bottom) the canvas needs beyond the photo's field rows
    for every turn from 0 to `angle`."""
    corners = np.array([[0, 0], [width, 0], [0, rows], [width, rows]], np.float64)
    seen = [corners]
    for step in np.linspace(0.0, angle, 17)[1:]:
        matrix = _canvas_from_photo(pole, (0, 0), float(step))
        seen.append(corners @ matrix[:, :2].T + matrix[:, 2])
    points = np.concatenate(seen)
    low, high = points.min(axis=0), points.max(axis=0)
    # and a few pixels more: the grid offset and the interpolation's reach
    return (
        math.ceil(max(0.0, -low[0])) + 3,
        math.ceil(max(0.0, -low[1])) + 3,
        math.ceil(max(0.0, high[0] - width)) + 3,
        math.ceil(max(0.0, high[1] - rows)) + 3,
    )


def _fill(
    ctx: LayerContext, sky: np.ndarray, glow: np.ndarray, margins: tuple[int, int, int, int]
) -> np.ndarray:
    """The field's canvas (RGBA uint8): the photo's field as it is, every star kept; beyond it
    (margins, and behind what stands in front) the field's glow continued smoothly, and on it the
    stars of another part of the field (_stars_elsewhere). A smooth fill alone showed a flat,
    starless band coming in at the frame's edge; sprinkled dots were too few and too faint beside
    the photo's stars; a mirrored margin showed each star twice, in pairs across the edge."""
    left, top, right, bottom = margins
    photo = ctx.image[: sky.shape[0]]
    # the scene's mask is coarse (a pixel of the analysis image is 3 of a 720p frame): near its
    # edge nothing near-black (a trunk's edge) goes on the canvas, or its ghost would turn away
    # with the sky; inside, the field's own dark lanes stay as they are
    level = cv2.cvtColor(glow, cv2.COLOR_RGB2GRAY)
    edge = sky - erode(sky, EDGE_ANALYSIS_PX * sky.shape[1] / ctx.scene.analysis_shape[1])
    black = (level < SILHOUETTE_BLACK * sky_level(level, sky > 0.5)) & (edge > 0.5)
    field = sky * (dilate(black.astype(np.float32), 2.0 * ctx.scale) == 0)
    inside_field = (field > 0.5).astype(np.uint8)
    # the stars over the glow (an opening never exceeds the photo), on the field only
    stars = cv2.subtract(photo, glow, dst=np.zeros_like(photo), mask=inside_field)
    border = (top, bottom, left, right, cv2.BORDER_CONSTANT)
    weight = cv2.copyMakeBorder(erode(field, 2.0 * ctx.scale), *border)
    canvas = fill_from_mask(cv2.copyMakeBorder(glow, *border), weight)
    elsewhere = _stars_elsewhere(stars, inside_field, top, left, canvas.shape[:2])
    canvas = cv2.add(canvas, elsewhere, dtype=cv2.CV_32F)
    out = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    cv2.copyTo(cv2.copyMakeBorder(photo, *border), (weight > 0.5).astype(np.uint8), out)
    return cv2.cvtColor(out, cv2.COLOR_RGB2RGBA)


def _stars_elsewhere(
    stars: np.ndarray, field: np.ndarray, top: int, left: int, shape: tuple[int, int]
) -> np.ndarray:
    """The field's stars (uint8, over its glow) for each canvas pixel, taken from the same row of
    the field (a 0/1 uint8 mask) a third or half of the width away, where that is field (never
    from the hills, which have none); rows beyond the field's are read mirrored."""
    rows, width = field.shape
    ys = np.abs(np.arange(shape[0], dtype=np.float32) - top)
    ys = np.where(ys >= rows, 2 * (rows - 1) - ys, ys).clip(0, rows - 1)
    map_y = np.ascontiguousarray(np.broadcast_to(ys[:, None], shape))
    out = np.zeros((*shape, 3), np.uint8)
    found = np.zeros(shape, np.uint8)
    for shift in (width // 2, width // 3, 2 * width // 3):
        xs = ((np.arange(shape[1]) - left + shift) % width).astype(np.float32)
        map_x = np.ascontiguousarray(np.broadcast_to(xs[None, :], shape))
        take = cv2.remap(field, map_x, map_y, cv2.INTER_NEAREST) & (1 - found)
        cv2.copyTo(cv2.remap(stars, map_x, map_y, cv2.INTER_NEAREST), take, out)
        found |= take
    return out


def _glow(photo: np.ndarray) -> np.ndarray:
    """The photo with its stars taken out (a grey opening: a star is smaller than its disc)."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    return cv2.morphologyEx(photo, cv2.MORPH_OPEN, disc)
