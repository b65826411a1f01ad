"""What every layer prepares from: the photo, its scene, the options and the clip's timeline."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..motion_prompt import MotionPlan
from ..options import GenerationOptions
from ..scene import Scene
from .style import MOTION_SCALE, STYLES, Style, with_look

PUSH_TIME_S = 8.0  # the camera push eases in with this time constant
# parallel lines in what nothing animates (a road's markings, a guard rail) crawl visibly under
# the push and under exposure breathing, where texture running every way hardly shows them: from
# this stripedness (Scene.still_stripes) up, both are calmed, by half at STRIPES_FULL and beyond
STRIPES_CALM = 0.75
STRIPES_FULL = 0.95


@dataclass(frozen=True)
class Timeline:
    """The clip's frames in time: how motion eases in and how periodic motion fits a loop."""

    count: int
    fps: int
    loop: bool

    @property
    def period(self) -> float:
        """Loops repeat over exactly the clip's length."""
        return self.count / self.fps

    def ease(self, t: float) -> float:
        """0 -> 1 with time. A loop goes out and back over the clip so its end meets its start;
        otherwise motion depends only on time (not on the clip's length), so a longer clip with
        the same seed continues a shorter one frame for frame."""
        if self.loop:
            return 0.5 - 0.5 * math.cos(2.0 * math.pi * t / self.period)
        return 1.0 - math.exp(-t / PUSH_TIME_S)

    def frequency(self, hz: float) -> float:
        """A loop's periodic motions complete whole cycles over the clip."""
        if not self.loop:
            return hz
        return max(1, round(hz * self.period)) / self.period


@dataclass(frozen=True)
class LayerContext:
    """Shared input of the layers' prepare steps. `rng` is one stream that the layers draw from
    in a fixed order (camera, sky, water, foliage, lamps, light), so a seed gives one clip."""

    options: GenerationOptions
    plan: MotionPlan
    scene: Scene
    image: np.ndarray  # the fitted photo with the style's look, (height, width, 3) uint8
    height: int
    width: int
    timeline: Timeline
    style: Style
    intensity: float  # the motion option as a factor
    scale: float  # the frame's size against 720p: pixel measures are set for 720p
    rng: np.random.Generator
    grid_x: np.ndarray  # each pixel's column, float32
    grid_y: np.ndarray  # each pixel's row, float32
    steadiness: float  # multiplies push and breathing: 1, less over parallel lines
    # each face enlarged (feathered): no local flow ever warps it, so no expression is invented
    identity: np.ndarray | None
    still: np.ndarray | None  # the same, held still even against the camera, where asked for

    @classmethod
    def build(
        cls, image: np.ndarray, scene: Scene, options: GenerationOptions, plan: MotionPlan
    ) -> LayerContext:
        """The context for a fitted photo, its scene, the options and the motion plan."""
        h, w = image.shape[:2]
        style = STYLES[options.style]
        scale = math.sqrt(w * h) / math.sqrt(1280 * 720)
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        crawl = (scene.still_stripes - STRIPES_CALM) / (STRIPES_FULL - STRIPES_CALM)
        identity = scene.mask("faces", w, h, feather_px=6 * scale) if scene.faces else None
        still = None if options.face_motion else identity
        return cls(
            options=options,
            plan=plan,
            scene=scene,
            image=with_look(image, style, scale),
            height=h,
            width=w,
            timeline=Timeline(options.frame_count, options.fps, options.loop),
            style=style,
            intensity=MOTION_SCALE[options.motion],
            scale=scale,
            rng=np.random.default_rng([options.seed, 0x5717]),
            grid_x=grid_x,
            grid_y=grid_y,
            steadiness=1.0 - 0.5 * float(np.clip(crawl, 0.0, 1.0)),
            identity=identity,
            still=still,
        )

    def own_rng(self, stream: int) -> np.random.Generator:
        """A random stream of the seed's own for one layer's detail: drawing from it leaves the
        shared stream, and so the rest of the clip, as it was."""
        return np.random.default_rng([self.options.seed, stream])
