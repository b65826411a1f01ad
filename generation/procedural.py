"""The procedural living-photo backend (CPU, no weights): scene-aware motion, light and ambient sound.

How a frame is made (all per-frame work is a handful of vectorised OpenCV calls on precomputed data):

1. Sky: the sky is lifted into its own layer ("canvas"): occluders (towers, trees, mountains) are
   filled with sky-like colour, the canvas is widened for the drift and painted with procedural
   wisps of cloud, then pre-shifted to a few sub-pixel phases. Each frame takes the canvas at the
   drift offset and blends it over the photo through the sky mask, which is shrunk and feathered
   inside the sky, so the sky slides *behind* what stands in front of it and no edge tears.
2. One cv2.remap per frame applies a camera push whose strength grows with coarse depth (parallax:
   the foreground moves more than the sky) plus local flows: rolling ripples on water and sway on
   foliage, each a linear combination of precomputed basis fields weighted by feathered masks.
3. Light: a per-frame colour lookup table (exposure breathing, warmth drift) and twinkling lights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .audio import synthesize_ambient
from .buffers import frame_buffer
from .clip import SAMPLE_RATE, Clip
from .motion_prompt import MotionPlan, plan_motion
from .options import GenerationOptions
from .parallel import render_in_threads
from .scene import Scene, analyze_scene, detect_faces

BACKEND = "procedural"
BACKEND_VERSION = "1.0.0"

PUSH_TIME_S = 8.0  # the camera push eases in with this time constant
MAX_DURATION_S = 21.0
GLINTS = 40  # at most, on water
# sky drift at 720p, px per second: 1.4 px a frame at 24 fps reads as moving, not as hurrying
SKY_SPEED = 34.0
SUBPIXEL_PHASES = 4  # the sky canvas is pre-shifted by quarter pixels
SKY_COLOUR_TOLERANCE = 14.0  # grey levels darker than the sky around: a silhouette
SKY_CHROMA_TOLERANCE = 0.035  # chromaticity off the sky-to-white line: another hue
HORIZON_FADE = 0.15  # share of the sky's height over which the drift fades out at its bottom
CLOUD_EDGE = 0.5  # noise deviations from clear sky to full cloud: lower gives crisper edges
VEIL_OPACITY = 0.35  # cloud veil over a clear sky (less over a sky with clouds of its own)
VEIL_CONTRAST = 80.0  # grey levels the veil lightens or darkens the sky by at full opacity
CLOUD_SHADING = 0.12  # brightness varies this much inside a cloud (lit puffs, shaded hollows)
WAVE_SHADE = 24.0  # grey levels of light on a crest of smooth water (shade in a trough)
# parallel lines in what nothing animates (a road's markings, a guard rail) crawl visibly under
# the push and under exposure breathing, where texture running every way hardly shows them: from
# this stripedness (Scene.still_stripes) up, both are calmed, by half at STRIPES_FULL and beyond
STRIPES_CALM = 0.75
STRIPES_FULL = 0.95


@dataclass(frozen=True)
class Style:
    cloud_opacity: float
    cloud_coverage: float  # 0 sparse wisps .. 1 overcast
    speed: float  # multiplies drift, ripple and sway speeds
    push: float  # multiplies the camera push
    exposure: float  # amplitude of the exposure breathing
    warmth: float  # warmth drift over the clip (+ warmer)
    contrast: float  # static contrast of the look
    glow: float  # static soft glow of the look
    saturation: float


STYLES: dict[str, Style] = {
    "calm": Style(0.45, 0.35, 1.0, 1.0, 0.025, 0.03, 1.0, 0.0, 1.0),
    "dramatic": Style(0.65, 0.5, 1.6, 1.5, 0.06, 0.06, 1.12, 0.0, 1.1),
    "dreamy": Style(0.5, 0.4, 0.7, 0.8, 0.035, 0.04, 0.95, 0.3, 0.9),
}
MOTION_SCALE = {"low": 0.5, "medium": 1.0, "high": 1.8}


def _prepared(
    photo: Image.Image, width: int, height: int
) -> tuple[Image.Image, float, float, float]:
    """The photo in RGB (huge ones reduced) and its cover crop for (width, height): the scale from
    its pixels to the frame's and the crop's top-left corner, in its pixels."""
    if photo.mode != "RGB":
        photo = photo.convert("RGB")
    src_w, src_h = photo.size
    scale = max(width / src_w, height / src_h)
    factor = int(1.0 / (2.0 * scale))  # keep at least 2x the target so the final resize stays sharp
    if factor >= 2:
        photo = photo.reduce(factor)
        src_w, src_h = photo.size
        scale = max(width / src_w, height / src_h)
    return photo, scale, (src_w - width / scale) / 2.0, (src_h - height / scale) / 2.0


def fit_photo(photo: Image.Image, width: int, height: int) -> np.ndarray:
    """Cover-crops the photo to (height, width, 3) uint8 RGB; huge photos are reduced first."""
    photo, scale, x0, y0 = _prepared(photo, width, height)
    src_w, src_h = photo.size
    crop_w, crop_h = width / scale, height / scale
    box = (int(x0), int(y0), min(src_w, math.ceil(x0 + crop_w)), min(src_h, math.ceil(y0 + crop_h)))
    pixels = np.asarray(photo.crop(box), dtype=np.uint8)
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    fitted = cv2.resize(pixels, (width, height), interpolation=interpolation)
    return np.ascontiguousarray(fitted)


def faces_in_frame(photo: Image.Image, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Faces found in the whole photo, as boxes in the cover-cropped frame's pixels (clipped to it).
    Looking before the crop finds faces the crop cuts (a portrait's forehead or chin), which a
    face detector misses in the frame itself."""
    photo, scale, x0, y0 = _prepared(photo, width, height)
    boxes = []
    for x, y, w, h in detect_faces(np.asarray(photo, dtype=np.uint8)):
        fx0, fy0 = max(0.0, (x - x0) * scale), max(0.0, (y - y0) * scale)
        fx1, fy1 = min(width, (x + w - x0) * scale), min(height, (y + h - y0) * scale)
        # kept while a fair part of the face is in the frame
        if (fx1 - fx0) * (fy1 - fy0) >= 0.3 * (w * h * scale * scale):
            boxes.append((round(fx0), round(fy0), round(fx1 - fx0), round(fy1 - fy0)))
    return boxes


def analyze_photo(
    photo: Image.Image,
    width: int,
    height: int,
    faces: list[tuple[int, int, int, int]] | None = None,
) -> tuple[np.ndarray, Scene]:
    """The frame-sized photo and its scene, faces looked for in the whole photo unless given."""
    image = fit_photo(photo, width, height)
    if faces is None:
        faces = faces_in_frame(photo, width, height)
    return image, analyze_scene(image, faces=faces)


def generate_clip(
    photo: Image.Image,
    options: GenerationOptions,
    *,
    timings: dict[str, float] | None = None,
    faces: list[tuple[int, int, int, int]] | None = None,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
) -> Clip:
    """Turns an RGB photo into a living clip. Same photo, options and seed give identical output.

    `timings`, when given, receives seconds per stage (fit, analysis, motion, synthesis, audio;
    audio runs beside motion and synthesis, and audio_wait is what was left to wait for it);
    `faces` are face boxes in the fitted frame's pixels if the caller already knows them;
    `on_frame(i, frame)`, when given, is called from the calling thread with each frame in order
    as soon as it and all before it are rendered, while later ones still are (an encoder's
    `write`): its time counts in synthesis.
    """
    options.validate()
    stage = Stopwatch(timings)
    image = fit_photo(photo, options.width, options.height)
    stage("fit")
    if faces is None:
        faces = faces_in_frame(photo, options.width, options.height)
    scene = analyze_scene(image, faces=faces)
    stage("analysis")
    plan = plan_motion(scene, options)
    samples = round(options.frame_count * SAMPLE_RATE / options.fps)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stillguard-audio") as audio_pool:
        # the sound is made beside the frames (numpy releases the GIL): it fills the single-
        # threaded moments of the frame work instead of waiting for it
        sound_job = (
            audio_pool.submit(_timed, synthesize_ambient, scene, options, plan, samples=samples)
            if options.audio
            else None
        )
        renderer = _Renderer(image, scene, options, plan)
        stage("motion")
        frames = renderer.render_all(on_frame=on_frame)
        stage("synthesis")
        audio = None
        sound: dict[str, Any] = {"layers": []}
        if sound_job is not None:
            (audio, sound), audio_seconds = sound_job.result()
            stage("audio_wait")
            if timings is not None:
                timings["audio"] = audio_seconds
    description = {
        **scene.to_dict(),
        "motions": renderer.motions,
        "audio_layers": [layer["layer"] for layer in sound["layers"]],
        "audio": sound,
        "style": options.style,
        "motion": options.motion,
        "loop": options.loop,
        "motion_prompt": plan.to_dict(),
    }
    return Clip(
        frames=frames,
        fps=options.fps,
        audio=audio,
        sample_rate=SAMPLE_RATE,
        backend=BACKEND,
        backend_version=BACKEND_VERSION,
        scene=description,
    )


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


class Stopwatch:
    """Adds the seconds since the last mark to a named stage of a timings dict (if one is given)."""

    def __init__(self, sink: dict[str, float] | None) -> None:
        self.sink = sink
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[name] = self.sink.get(name, 0.0) + now - self.last
        self.last = now


def _smooth_noise(
    rng: np.random.Generator, height: int, width: int, cell_y: float, cell_x: float, octaves: int
) -> np.ndarray:
    """Fractal value noise (zero mean, unit deviation) of the given size; cells in pixels."""
    total = np.zeros((height, width), np.float32)
    amplitude = 1.0
    for _ in range(octaves):
        gh = max(2, math.ceil(height / cell_y) + 2)
        gw = max(2, math.ceil(width / cell_x) + 2)
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        big = cv2.resize(
            grid, (round(gw * cell_x), round(gh * cell_y)), interpolation=cv2.INTER_CUBIC
        )
        total += amplitude * big[:height, :width]
        amplitude *= 0.5
        cell_x, cell_y = cell_x / 2.0, cell_y / 2.0
    total -= total.mean()
    return total / max(float(total.std()), 1e-6)


def _erode(mask: np.ndarray, radius: float) -> np.ndarray:
    """Shrinks a 0/1 float mask by `radius` pixels."""
    k = 2 * max(1, round(radius)) + 1
    return cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))


def _off_sky_colour(photo: np.ndarray, scale: float) -> np.ndarray:
    """1 where a pixel's colour is not explained by the sky around it: a different hue (a lit
    beam, a leaf) or much darker (a silhouette). Clouds only move the sky's colour toward white or
    grey, so they are not off."""
    # the sky around a pixel is smooth: estimate it at half size (a quarter of the cost)
    height, width = photo.shape[:2]
    half = cv2.resize(photo, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)
    k = 2 * max(1, round(7.5 * scale)) + 1
    around = cv2.resize(
        cv2.medianBlur(half, min(k, 255)), (width, height), interpolation=cv2.INTER_LINEAR
    )
    # per-channel planes: sums across channels of (H, W, 3) arrays were most of the sky setup's
    # time; on planes the same arithmetic takes a quarter of it (720p: 178 -> 48 ms, measured)
    total, chroma = _chromaticity(photo)
    total_around, sky_chroma = _chromaticity(around)
    darker = (total_around - total) / 3.0 > 2.0 * SKY_COLOUR_TOLERANCE
    along = sum(c * s for c, s in zip(chroma, sky_chroma, strict=True)) / np.maximum(
        sum(s * s for s in sky_chroma), 1e-6
    )
    np.clip(along, 0.0, 1.0, out=along)
    residual = sum((c - along * s) ** 2 for c, s in zip(chroma, sky_chroma, strict=True))
    off_hue = (residual > SKY_CHROMA_TOLERANCE**2) & (total > 60.0)
    return (darker | off_hue).astype(np.uint8)


def _chromaticity(image: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """An RGB image's channel sum and, per channel, its share of that sum less a third (grey is
    zero), as float32 planes."""
    channels = [plane.astype(np.float32) for plane in cv2.split(image)]
    total = channels[0] + channels[1] + channels[2]
    inverse = 1.0 / (total + 1.0)
    return total, [plane * inverse - 1.0 / 3.0 for plane in channels]


def _fill_from_mask(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Keeps the image where weight is 1 and fills the rest with a smooth continuation of it
    (pyramid push-pull, from half size up). Returns float32."""
    height, width = weight.shape
    small_w = cv2.resize(
        weight, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA
    )
    small = cv2.resize(image, (small_w.shape[1], small_w.shape[0]), interpolation=cv2.INTER_AREA)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    premult: np.ndarray = small.astype(np.float32) * small_w[..., None]
    w: np.ndarray = small_w
    while min(w.shape) > 4:
        levels.append((premult, w))
        premult, w = cv2.pyrDown(premult), cv2.pyrDown(w)
    estimate = premult / np.maximum(w, 1e-4)[..., None]
    if not (w > 1e-4).any():
        estimate[:] = image.reshape(-1, 3).mean(axis=0)
    for premult_l, w_l in reversed(levels):
        up = cv2.pyrUp(estimate, dstsize=(w_l.shape[1], w_l.shape[0]))
        confidence = np.clip(w_l * 2.0, 0.0, 1.0)[..., None]
        own = premult_l / np.maximum(w_l, 1e-4)[..., None]
        estimate = confidence * own + (1.0 - confidence) * up
    smooth = cv2.resize(estimate, (width, height), interpolation=cv2.INTER_LINEAR)
    cv2.copyTo(image.astype(np.float32), (weight > 0.5).astype(np.uint8), smooth)
    return smooth


def _with_crests(
    image: np.ndarray, crests: tuple[tuple[slice, slice], np.ndarray] | None
) -> np.ndarray:
    """The image with `crests` (signed grey levels over a box) added: light on the water's
    crests, shade in its troughs. They are drawn once; the ripple's remap carries them."""
    if crests is None:
        return image
    box, levels = crests
    out = image.copy()
    out[box] = np.clip(image[box] + levels[..., None] + 0.5, 0, 255).astype(np.uint8)
    return out


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


class _Renderer:
    """Precomputes everything a frame needs, then renders frames independently (in threads)."""

    def __init__(
        self, image: np.ndarray, scene: Scene, options: GenerationOptions, plan: MotionPlan
    ) -> None:
        self.options = options
        self.plan = plan
        self.height, self.width = h, w = image.shape[:2]
        self.count = options.frame_count
        self.fps = options.fps
        self.period = self.count / self.fps  # loops repeat over exactly the clip's length
        self.style = STYLES[options.style]
        self.intensity = MOTION_SCALE[options.motion]
        self.motions: list[dict[str, Any]] = []
        self.rng = np.random.default_rng([options.seed, 0x5717])
        self.scale = math.sqrt(w * h) / math.sqrt(1280 * 720)  # pixel measures are set for 720p
        self.image = self._look(image)
        self.grid_x, self.grid_y = np.meshgrid(
            np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
        )
        crawl = (scene.still_stripes - STRIPES_CALM) / (STRIPES_FULL - STRIPES_CALM)
        self.steadiness = 1.0 - 0.5 * float(np.clip(crawl, 0.0, 1.0))  # multiplies push, breathing
        self._camera(scene)
        still = scene.mask("faces", w, h, feather_px=6 * self.scale) if scene.faces else None
        if still is not None and not options.face_motion:
            # faces held still: the camera's flow is pinned to zero on them (feathered around)
            self.push_x *= 1.0 - still
            self.push_y *= 1.0 - still
        self._sky(scene)
        self.local_x: list[tuple[tuple[slice, slice], np.ndarray, np.ndarray, float, float]] = []
        self.local_y: list[tuple[tuple[slice, slice], np.ndarray, np.ndarray, float, float]] = []
        if still is not None and not options.face_motion:
            self.motions.append(
                {"region": "faces", "kind": "held still", "count": len(scene.faces)}
            )
        self.lights: list[tuple[float, float, np.ndarray, float, float, float]] = []
        self.water_crests: tuple[tuple[slice, slice], np.ndarray] | None = None
        self._water(scene, still if not options.face_motion else None)
        self._foliage(scene, still if not options.face_motion else None)
        self._lights(scene)
        self._particles()
        self._light_matrices()
        # OpenCV's remap and blend have a much faster path for 4 channels than for 3 (measured
        # 3.4 ms against 9.5 ms at 720p): frames are composed in RGBA, and the light matrix
        # is applied to the RGB frame.
        self.source = cv2.cvtColor(_with_crests(self.image, self.water_crests), cv2.COLOR_RGB2RGBA)
        self._per_frame_tables()

    # ---- precomputation ---------------------------------------------------------------------

    def _look(self, image: np.ndarray) -> np.ndarray:
        style = self.style
        if style.contrast == 1.0 and style.glow == 0.0 and style.saturation == 1.0:
            return image
        f = image.astype(np.float32) / 255.0
        if style.glow > 0:
            blur = cv2.GaussianBlur(f, (0, 0), 12 * self.scale)
            f = 1.0 - (1.0 - f) * (1.0 - style.glow * blur)  # screen a soft glow over the photo
        if style.contrast != 1.0:
            f = np.clip(0.5 + (f - 0.5) * style.contrast, 0.0, 1.0)
        if style.saturation != 1.0:
            grey = f.mean(axis=2, keepdims=True)
            f = np.clip(grey + (f - grey) * style.saturation, 0.0, 1.0)
        return np.ascontiguousarray((f * 255.0 + 0.5).astype(np.uint8))

    def _ease(self, t: float) -> float:
        """0 -> 1 with time. A loop goes out and back over the clip so its end meets its start;
        otherwise motion depends only on time (not on the clip's length), so a longer clip with
        the same seed continues a shorter one frame for frame."""
        if self.options.loop:
            return 0.5 - 0.5 * math.cos(2.0 * math.pi * t / self.period)
        return 1.0 - math.exp(-t / PUSH_TIME_S)

    def _frequency(self, hz: float) -> float:
        """A loop's periodic motions complete whole cycles over the clip."""
        if not self.options.loop:
            return hz
        return max(1, round(hz * self.period)) / self.period

    def _camera(self, scene: Scene) -> None:
        h, w = self.height, self.width
        rows = np.arange(h, dtype=np.float32) / max(h - 1, 1)
        near = np.clip((rows - scene.horizon) / max(1e-3, 1.0 - scene.horizon), 0.0, 1.0)
        depth_weight = (0.35 + 0.65 * near)[:, None]  # far (sky, horizon) 0.35 .. near (bottom) 1.0
        cx = w * (0.5 + self.rng.uniform(-0.2, 0.2))
        cy = h * (0.5 + self.rng.uniform(-0.1, 0.1))
        # a slow push that eases toward 2.5% (a loop pushes 1.25% in and back out): subtle, so
        # what nothing animates stays nearly still beside the sky and water (half that over
        # parallel lines, see STRIPES_CALM)
        reach = 0.0125 if self.options.loop else 0.025
        self.push = reach * self.intensity * self.style.push * self.plan.camera * self.steadiness
        self.center = (cx, cy)
        self.depth_weight = depth_weight[:, 0]
        self.push_x = -(self.grid_x - cx) * depth_weight
        self.push_y = -(self.grid_y - cy) * depth_weight
        self.motions.append(
            {
                "region": "all",
                "kind": "camera push with depth parallax",
                "zoom": round(self.push, 4),
                "center": [round(cx / w, 3), round(cy / h, 3)],
            }
        )

    def _sky(self, scene: Scene) -> None:
        self.sky_rows = 0
        if scene.fraction("sky") < 0.02:
            return
        h, w = self.height, self.width
        coarse = scene.mask("sky", w, h, feather_px=0.0)
        rows = np.nonzero(coarse.max(axis=1) > 0.5)[0]
        if rows.size == 0:
            return
        # work on the sky rows plus a margin of zeros below, so erosion and blur see the sky's end
        sb = min(h, int(rows[-1]) + 1 + round(16 * self.scale))
        photo = self.image[:sb]
        sky = (coarse[:sb] > 0.5).astype(np.float32)
        # drop thin things standing in front of the sky that the small analysis image missed
        # (cables, lattice beams): their colour is off the sky's, and an opening removes them.
        # Full resolution: at half size faint lattice beams blend into the sky and get carried.
        odd = _off_sky_colour(photo, self.scale)
        k = 2 * max(1, round(5 * self.scale)) + 1
        ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        thin = odd & (1 - cv2.morphologyEx(odd, cv2.MORPH_OPEN, ellipse))
        thin = cv2.dilate(thin, np.ones((3, 3), np.uint8))
        sky *= thin == 0
        weight = _erode(sky, 3.0 * self.scale)
        filled = _fill_from_mask(photo, weight)
        feather = 3.0 * self.scale
        # the blend weight: shrunk, then feathered inside the sky; the canvas is built only from
        # the solid interior, so nothing standing in front of the sky is ever carried by the drift.
        # Toward the horizon the drift fades out (distant sky barely moves; glows stay put).
        alpha = cv2.GaussianBlur(_erode(sky, 2.5 * feather), (0, 0), feather)
        bottom = float(rows[-1])
        horizon_fade = np.clip(
            (bottom - np.arange(sb, dtype=np.float32)) / max(1.0, HORIZON_FADE * bottom), 0, 1
        )
        alpha = alpha * (horizon_fade * horizon_fade * (3 - 2 * horizon_fade))[:, None]
        used = np.nonzero(alpha.max(axis=1) > 1e-3)[0]
        if used.size == 0:
            return
        sb = int(used[-1]) + 1
        alpha, filled = alpha[:sb], filled[:sb]

        speed = SKY_SPEED * self.scale * self.intensity * self.style.speed * self.plan.sky_speed
        if self.options.loop:
            # a loop cross-fades two drifting copies: keep them close (18 px/s at 720p)
            speed *= 0.53
        direction = self.plan.sky_direction or (1 if self.rng.random() < 0.5 else -1)
        self.sky_velocity = speed * direction
        margin = math.ceil(abs(self.sky_velocity) * self.period) + 4
        left, right = (margin, 1) if direction > 0 else (1, margin)
        canvas = _extend_sky(filled, left, right)
        self.sky_origin = float(left)
        # clouds are drawn on a fixed stretch of sky (wide enough for the longest clip), so a
        # clip's length does not change them
        reach = 4 * math.ceil((speed * MAX_DURATION_S + 8) / 4)
        canvas = self._paint_clouds(canvas, scene, sb, left, reach)
        canvas_u8 = cv2.cvtColor(np.clip(canvas + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2RGBA)
        self.sky_phases = [
            cv2.warpAffine(
                canvas_u8,
                np.array([[1, 0, -k / SUBPIXEL_PHASES], [0, 1, 0]], np.float32),
                (canvas_u8.shape[1], sb),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            for k in range(SUBPIXEL_PHASES)
        ]
        self.sky_rows = sb
        self.sky_alpha = alpha
        self.sky_beta = np.ascontiguousarray(1.0 - alpha)
        self.motions.append(
            {
                "region": "sky",
                "kind": "drift",
                "speed_px_s": round(self.sky_velocity, 2),
                "clouds_added": round(self.cloud_opacity, 3),
            }
        )

    def _paint_clouds(
        self, canvas: np.ndarray, scene: Scene, sky_rows: int, left: int, reach: int
    ) -> np.ndarray:
        """Paints soft procedural clouds over the canvas, whose column `left` is the photo's
        column 0; the clouds are drawn for photo columns -reach .. width + reach."""
        style = self.style
        ch, cw = canvas.shape[:2]
        opacity = style.cloud_opacity * (1.0 - 0.6 * scene.sky_texture) * self.plan.clouds
        self.cloud_opacity = opacity
        if opacity <= 0.01:
            return canvas
        # cloud density is soft: make it at quarter size and scale it up
        qh, qw = max(2, math.ceil(ch / 4)), max(2, math.ceil((self.width + 2 * reach) / 4))
        cell = 150.0 * self.scale / 4.0

        def on_canvas(quarter: np.ndarray) -> np.ndarray:
            """A quarter-size field scaled up and cut to the canvas, with a channel axis."""
            full = cv2.resize(quarter, (4 * qw, 4 * qh), interpolation=cv2.INTER_LINEAR)
            return full[:ch, reach - left : reach - left + cw, None]

        noise = _smooth_noise(self.rng, qh, qw, cell, cell * 2.6, octaves=4)
        threshold = 1.1 - 1.6 * style.cloud_coverage
        density = np.clip((noise - threshold) / CLOUD_EDGE, 0.0, 1.0)
        density = density * density * (3.0 - 2.0 * density)
        # puffs and shading inside each cloud: real clouds are not flat, and a drift is seen by
        # texture (a flat blob shows its motion only at its edge). Own stream: the rest of the
        # clip's randomness stays as it was.
        detail_rng = np.random.default_rng([self.options.seed, 0xC10D])
        detail = _smooth_noise(detail_rng, qh, qw, cell / 5.0, cell / 3.0, octaves=2)
        density *= np.clip(0.7 + 0.3 * detail, 0.0, 1.0)
        # fade toward the horizon (perspective) so clouds do not end on a line
        rows = np.arange(qh, dtype=np.float32) / max(sky_rows / 4.0, 1.0)
        density *= np.clip((1.0 - rows) / 0.25, 0.0, 1.0)[:, None] * (0.8 * opacity)
        # a thin veil over the whole sky, strongest where the photo's sky is smooth: a clear sky
        # shows no drift at all, while the veil's texture shows it everywhere. It is lighter and
        # darker than the sky in turn (thin cloud and its shade), so it neither whitens a dark
        # storm sky nor vanishes in a bright glow; its texture is not much wider than tall, as
        # long streaks drifting along themselves show no motion
        veil = None
        veil_opacity = VEIL_OPACITY * (1.0 - scene.sky_texture) * self.plan.clouds
        if veil_opacity > 0.01:
            veil_rng = np.random.default_rng([self.options.seed, 0x7E11])
            streaks = _smooth_noise(veil_rng, qh, qw, cell / 4.0, cell / 2.0, octaves=3)
            fade = np.clip((1.0 - rows) / 0.1, 0.0, 1.0)[:, None]
            veil = on_canvas(np.clip(streaks / 1.5, -1.0, 1.0) * fade * veil_opacity)
        cover = on_canvas(density)
        shade = 1.0 + CLOUD_SHADING * on_canvas(detail)
        target = 235.0 * float(np.clip(scene.sky_luma * 2.4, 0.3, 1.0))
        tint = np.array([1.0, 0.97, 0.97], np.float32) if self.options.style == "dramatic" else 1.0
        canvas = canvas * (1.0 - cover) + (target * tint) * shade * cover
        if veil is None:
            return canvas
        return canvas + VEIL_CONTRAST * veil

    def _local_region(
        self, scene: Scene, name: str, feather: float, inset: float, still: np.ndarray | None
    ) -> tuple[tuple[slice, slice], np.ndarray] | None:
        """A region's feathered mask (less any faces held still) cropped to its bounding box."""
        mask = scene.mask(
            name,
            self.width,
            self.height,
            feather_px=feather * self.scale,
            inset_px=inset * self.scale,
        )
        if still is not None:
            mask *= 1.0 - still
        ys, xs = np.nonzero(mask > 1e-3)
        if ys.size == 0:
            return None
        box = slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)
        return box, mask[box]

    def _water(self, scene: Scene, still: np.ndarray | None) -> None:
        if scene.fraction("water") < 0.01:
            return
        region = self._local_region(scene, "water", 8.0, 4.0, still)
        if region is None:
            return
        box, m = region
        h = self.height
        gy, gx = self.grid_y[box], self.grid_x[box]
        top = box[0].start
        depth = np.clip((gy - top) / max(1.0, h - top), 0.0, 1.0)
        amplitude = (1.5 + 3.5 * depth) * self.scale * self.intensity * self.plan.water * m
        wavelength = (28.0 + 60.0 * depth) * self.scale
        warp = _smooth_noise(self.rng, m.shape[0], m.shape[1], 60 * self.scale, 120 * self.scale, 2)
        phase = 2.0 * np.pi * (gy / wavelength) + 0.15 * gx / self.scale / 10.0 + 1.5 * warp
        omega = 2.0 * np.pi * self._frequency(0.55 * self.style.speed)
        # crests and troughs: light and shade along the ripple's phase, broken up along the
        # crests, strongest on smooth water (a mirror shows no ripple that moves nothing); the
        # ripple's remap carries them, so calm water reads as rolling, not as a still mirror
        breakup = _smooth_noise(
            self.rng, m.shape[0], m.shape[1], 8 * self.scale, 40 * self.scale, 2
        )
        smooth = 1.0 - 0.5 * min(1.0, scene.water_texture)
        # far water mirrors at a grazing angle: its crests show more contrast than the near ones
        crest = WAVE_SHADE * smooth * self.plan.water * m * (1.0 - 0.5 * depth)
        crest *= np.clip(0.7 + 0.4 * breakup, 0.2, 1.3)
        self.water_crests = (box, crest * np.sin(phase + 0.6))
        for axis, share in ((self.local_y, 1.0), (self.local_x, 0.35)):
            shift = 0.0 if share == 1.0 else 1.3
            axis.append(
                (
                    box,
                    (amplitude * share * np.sin(phase + shift)).astype(np.float32),
                    (amplitude * share * np.cos(phase + shift)).astype(np.float32),
                    omega,
                    0.0,
                )
            )
        self.motions.append(
            {
                "region": "water",
                "kind": "ripple",
                "frequency_hz": round(omega / 2 / np.pi, 3),
                "amplitude_px": round(float(amplitude.max()), 2),
            }
        )
        self._glints(scene, box, m, phase, omega)

    def _glints(
        self,
        scene: Scene,
        box: tuple[slice, slice],
        mask: np.ndarray,
        phase: np.ndarray,
        omega: float,
    ) -> None:
        """Sun glints: small sparkles on the water that flash as a ripple's crest passes them."""
        if scene.is_night or self.plan.water == 0.0:
            return
        inside = np.argwhere(mask > 0.8)
        if inside.size == 0:
            return
        rng = np.random.default_rng([self.options.seed, 0x6171])  # its own stream
        count = min(GLINTS, max(4, inside.shape[0] // 4000))
        picks = inside[rng.choice(inside.shape[0], size=count, replace=False)]
        r = max(2, round(3 * self.scale))
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
        star = np.exp(-(xx * xx + yy * yy) / (0.3 * r * r)) + 0.4 * np.exp(
            -(yy * yy) / 0.6 - (xx * xx) / (r * r)
        )
        sprite = (star[..., None] * np.array([90.0, 90.0, 80.0], np.float32)).astype(np.float32)
        for py, px in picks:
            # sin(phase - omega t) peaks when omega t = phase - pi/2: a twinkle with that phase
            self.lights.append(
                (
                    float(px + box[1].start),
                    float(py + box[0].start),
                    sprite,
                    omega / (2 * np.pi),
                    -float(phase[py, px]) + np.pi,
                    12.0,
                )
            )
        self.motions.append({"region": "water", "kind": "glints", "count": int(count)})

    def _foliage(self, scene: Scene, still: np.ndarray | None) -> None:
        if scene.fraction("foliage") < 0.005:
            return
        region = self._local_region(scene, "foliage", 6.0, 2.0, still)
        if region is None:
            return
        box, m = region
        phase = (
            2.0
            * np.pi
            * _smooth_noise(self.rng, m.shape[0], m.shape[1], 90 * self.scale, 90 * self.scale, 2)
            * 0.35
        )
        amplitude = 1.6 * self.scale * self.intensity * self.plan.foliage * m
        omega = 2.0 * np.pi * self._frequency(0.6 * self.style.speed)
        self.local_x.append(
            (
                box,
                (amplitude * np.sin(phase)).astype(np.float32),
                (amplitude * np.cos(phase)).astype(np.float32),
                omega,
                0.0,
            )
        )
        self.local_y.append(
            (
                box,
                (0.3 * amplitude * np.sin(phase + 0.7)).astype(np.float32),
                (0.3 * amplitude * np.cos(phase + 0.7)).astype(np.float32),
                2.0 * np.pi * self._frequency(0.78 * self.style.speed),
                0.0,
            )
        )
        self.motions.append(
            {"region": "foliage", "kind": "sway", "frequency_hz": round(omega / 2 / np.pi, 3)}
        )

    def _lights(self, scene: Scene) -> None:
        for x, y, radius in scene.lights[:12]:
            r = max(3, int(radius * 1.5))
            yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
            d2 = (xx * xx + yy * yy) / (0.35 * r) ** 2
            sprite = (
                np.exp(-d2)
                + 0.5 * np.exp(-(xx * xx) / 1.5 - (yy * yy) / (0.8 * r) ** 2)
                + 0.5 * np.exp(-(yy * yy) / 1.5 - (xx * xx) / (0.8 * r) ** 2)
            )
            self.lights.append(
                (
                    float(x),
                    float(y),
                    (sprite[..., None] * 70.0).astype(np.float32),
                    self._frequency(self.rng.uniform(1.5, 3.5)),
                    self.rng.uniform(0, 2 * np.pi),
                    1.0,
                )
            )
        if scene.lights:
            self.motions.append(
                {"region": "lights", "kind": "twinkle", "count": len(scene.lights[:12])}
            )

    def _particles(self) -> None:
        """Rain, snow or dust (asked for in the motion prompt): a tileable layer of particles,
        twice the frame in each direction, scrolled and added to each frame."""
        self.particle_layer: np.ndarray | None = None
        kind = self.plan.particles
        if not kind:
            return
        h, w = self.height, self.width
        layer: np.ndarray = np.zeros((h, w), np.float32)
        area = h * w / (1280 * 720)
        if kind == "rain":
            count, length, level, velocity = (
                int(900 * area),
                max(4, round(18 * self.scale)),
                55.0,
                (-0.15, 1.0),
            )
        elif kind == "snow":
            count, length, level, velocity = int(700 * area), 1, 200.0, (0.12, 0.25)
        else:
            count, length, level, velocity = int(250 * area), 1, 160.0, (0.05, -0.03)
        rng = np.random.default_rng([self.options.seed, 0x9A27])  # its own stream
        xs = rng.integers(0, w, count)
        ys = rng.integers(0, h, count)
        sizes = rng.uniform(0.6, 1.8, count) * max(1.0, 2.0 * self.scale)
        for x, y, size in zip(xs, ys, sizes, strict=True):
            if kind == "rain":
                end = (int(x + velocity[0] * length), int(y + length))
                cv2.line(layer, (int(x), int(y)), end, 1.0, 1, cv2.LINE_AA)
            else:
                cv2.circle(layer, (int(x), int(y)), max(1, round(size)), 1.0, -1, cv2.LINE_AA)
        layer = cv2.GaussianBlur(layer, (0, 0), 0.6 if kind == "rain" else 0.9 * self.scale + 0.3)
        tint = {"rain": (0.9, 0.95, 1.0), "snow": (1.0, 1.0, 1.0), "dust": (1.0, 0.85, 0.55)}[kind]
        single = np.clip(layer[..., None] * np.array(tint, np.float32) * level, 0, 255).astype(
            np.uint8
        )
        self.particle_layer = np.tile(single, (2, 2, 1))  # scroll without wrapping
        speed = (
            {"rain": 0.9, "snow": 0.08, "dust": 0.03}[kind] * h * self.intensity
        )  # px per second
        vx, vy = (
            velocity[0] / max(abs(velocity[1]), 1e-6) * speed,
            math.copysign(speed, velocity[1]),
        )
        if self.options.loop:  # whole tiles per loop so the layer meets itself
            vx = round(vx * self.period / w) * w / self.period
            vy = (max(1, round(abs(vy) * self.period / h)) * h / self.period) * (
                1 if vy > 0 else -1
            )
        self.particle_velocity = (vx, vy)
        self.motions.append(
            {
                "region": "all",
                "kind": f"particles: {kind}",
                "velocity_px_s": [round(vx, 1), round(vy, 1)],
            }
        )

    def _add_particles(self, out: np.ndarray, t: float) -> None:
        assert self.particle_layer is not None
        h, w = self.height, self.width
        vx, vy = self.particle_velocity
        # the layer moves by (vx, vy) t: the window into it moves the other way
        x0 = round(-vx * t) % w
        y0 = round(-vy * t) % h
        cv2.add(out, self.particle_layer[y0 : y0 + h, x0 : x0 + w], dst=out)

    def _light_matrices(self) -> None:
        """Per-frame colour matrices: exposure breathing and a warmth drift."""
        style = self.style
        phase = self.rng.uniform(0, 2 * np.pi)
        amp = style.exposure * self.plan.light * self.steadiness
        breathing = self._frequency(0.25)
        matrices = np.zeros((self.count, 3, 3), np.float32)
        for i in range(self.count):
            t = i / self.fps
            exposure = 1.0 + amp * math.sin(2 * math.pi * breathing * t + phase)
            warm = style.warmth * self.plan.light * (self._ease(t) - 0.5)
            matrices[i, 0, 0] = exposure * (1 + warm)
            matrices[i, 1, 1] = exposure
            matrices[i, 2, 2] = exposure * (1 - warm)
        self.light = matrices
        self.motions.append(
            {
                "region": "all",
                "kind": "light shift",
                "exposure": round(amp, 3),
                "warmth": round(style.warmth * self.plan.light, 3),
            }
        )

    # ---- per frame ----------------------------------------------------------------------------

    def _per_frame_tables(self) -> None:
        """What render() uses in 8 bits, so a frame is a few integer passes (measured at 720p:
        sky 4.8 -> 1.5 ms, light 2.9 -> 2.0 ms a frame).

        The sky blend src * (1 - a) + view * a keeps its static half, src * (1 - a), premultiplied;
        a frame adds view * a (alpha in 1/255 steps, at most one grey level off the float blend).
        Light matrices that are diagonal (per-channel gains) become one lookup table per frame;
        any other colour matrix is applied as such (cv2.transform)."""
        if self.sky_rows:
            weight = np.clip(self.sky_alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
            self.sky_weight = cv2.merge([weight] * 4)
            self.sky_under = cv2.multiply(
                self.source[: self.sky_rows], cv2.bitwise_not(self.sky_weight), scale=1 / 255
            )
        gains = np.diagonal(self.light, axis1=1, axis2=2)  # (frames, 3)
        self.light_tables: np.ndarray | None = None
        if np.array_equal(self.light, gains[:, :, None] * np.eye(3, dtype=np.float32)):
            levels = np.arange(256, dtype=np.float32)[None, :, None] * gains[:, None, :]
            self.light_tables = np.clip(np.rint(levels), 0, 255).astype(np.uint8)[:, :, None, :]

    def _sky_view(self, offset: float) -> np.ndarray:
        """The sky canvas seen from `offset` (canvas column at photo column 0), to a quarter pixel."""
        whole = math.floor(offset)
        k = round((offset - whole) * SUBPIXEL_PHASES)
        if k == SUBPIXEL_PHASES:
            whole, k = whole + 1, 0
        return self.sky_phases[k][:, whole : whole + self.width]

    def render(self, index: int, out: np.ndarray, work: dict[str, np.ndarray]) -> None:
        t = index / self.fps
        source = self.source
        if self.sky_rows:
            source = work["composite"]
            sb = self.sky_rows
            if self.options.loop:
                # two copies drift over one period each, half a period apart; each is faded out
                # as it jumps back, so the loop has no seam
                cycle = self.sky_velocity * self.period
                phase = (t / self.period) % 1.0
                first = self._sky_view(self.sky_origin - cycle * phase)
                second = self._sky_view(self.sky_origin - cycle * ((phase + 0.5) % 1.0))
                weight = 1.0 - abs(2.0 * phase - 1.0)
                view = cv2.addWeighted(first, weight, second, 1.0 - weight, 0.0, dst=work["sky"])
            else:
                view = self._sky_view(self.sky_origin - self.sky_velocity * t)
            cv2.multiply(view, self.sky_weight, dst=work["sky_over"], scale=1 / 255)
            cv2.add(self.sky_under, work["sky_over"], dst=source[:sb])
        zoom = self.push * self._ease(t)
        map_x, map_y = work["map_x"], work["map_y"]
        cv2.scaleAdd(self.push_x, zoom, self.grid_x, dst=map_x)
        cv2.scaleAdd(self.push_y, zoom, self.grid_y, dst=map_y)
        for target, fields in ((map_x, self.local_x), (map_y, self.local_y)):
            for box, sin_part, cos_part, omega, _ in fields:
                c, s = math.cos(omega * t), math.sin(omega * t)
                # amplitude * sin(phase - omega t) as a combination of two fixed fields
                region = target[box]
                cv2.scaleAdd(sin_part, c, region, dst=region)
                cv2.scaleAdd(cos_part, -s, region, dst=region)
        warped = work["warped"]
        cv2.remap(
            source, map_x, map_y, cv2.INTER_LINEAR, dst=warped, borderMode=cv2.BORDER_REFLECT101
        )
        cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB, dst=out)
        if self.light_tables is not None:
            cv2.LUT(out, self.light_tables[index], dst=out)
        else:
            cv2.transform(out, self.light[index], dst=out)
        if self.lights:
            self._twinkle(out, t, zoom)
        if self.particle_layer is not None:
            self._add_particles(out, t)

    def _twinkle(self, out: np.ndarray, t: float, zoom: float) -> None:
        h, w = self.height, self.width
        zx, zy = self.center
        for x, y, sprite, freq, phase, sharpness in self.lights:
            gain = (0.5 + 0.5 * math.sin(2 * math.pi * freq * t + phase)) ** sharpness
            r = sprite.shape[0] // 2
            # where the camera push has moved the light: the inverse of the frame's map
            k = zoom * float(self.depth_weight[min(h - 1, max(0, int(y)))])
            cx = round(zx + (x - zx) / (1.0 - k))
            cy = round(zy + (y - zy) / (1.0 - k))
            x0, y0, x1, y1 = max(0, cx - r), max(0, cy - r), min(w, cx + r + 1), min(h, cy + r + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            patch = out[y0:y1, x0:x1].astype(np.float32)
            patch += sprite[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r] * gain
            out[y0:y1, x0:x1] = np.minimum(patch, 255.0).astype(np.uint8)

    def render_all(self, on_frame: Callable[[int, np.ndarray], None] | None = None) -> np.ndarray:
        """Renders every frame, in threads; `on_frame(i, frame)` gets them in order as they are
        done (see parallel.render_in_threads)."""
        frames = out = frame_buffer(self.count, self.height, self.width)

        def frame_renderer() -> Callable[[int], None]:
            work = {
                "composite": self.source.copy(),
                "warped": np.empty((self.height, self.width, 4), np.uint8),
                "sky": np.empty((max(1, self.sky_rows), self.width, 4), np.uint8),
                "sky_over": np.empty((max(1, self.sky_rows), self.width, 4), np.uint8),
                "map_x": np.empty((self.height, self.width), np.float32),
                "map_y": np.empty((self.height, self.width), np.float32),
            }
            return lambda index: self.render(index, out[index], work)

        render_in_threads(
            self.count,
            frame_renderer,
            on_frame=None if on_frame is None else lambda index: on_frame(index, out[index]),
        )
        return frames
