"""The renderer: prepares the layers once, then passes every frame through them in order.

A frame is the sky composited over the photo, warped by the camera's push and the local flows
(one cv2.remap), then lit, then given its sparkles and particles. To add an effect, write a
module with a `prepare(ctx)` that returns a layer (see frame.Layer) and put it in the list below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..buffers import frame_buffer
from ..motion_prompt import MotionPlan
from ..options import GenerationOptions
from ..parallel import render_in_threads
from ..scene import Scene
from . import camera, foam, foliage, light, mist, particles, people, sky, stars, twinkle, water
from .context import LayerContext
from .frame import Frame, Layer


@dataclass(frozen=True)
class Warp:
    """Reads each pixel of the frame from where the maps say, and drops the alpha channel."""

    motions: tuple[dict[str, Any], ...] = ()

    def apply(self, frame: Frame) -> None:
        cv2.remap(
            frame.source,
            frame.map_x,
            frame.map_y,
            cv2.INTER_LINEAR,
            dst=frame.warped,
            borderMode=cv2.BORDER_REFLECT101,
        )
        cv2.cvtColor(frame.warped, cv2.COLOR_RGBA2RGB, dst=frame.out)


class Renderer:
    """Precomputes everything a frame needs, then renders frames independently (in threads)."""

    def __init__(
        self, image: np.ndarray, scene: Scene, options: GenerationOptions, plan: MotionPlan
    ) -> None:
        ctx = LayerContext.build(image, scene, options, plan)
        self.timeline = ctx.timeline
        # prepared in this order: they draw from the context's random stream in turn
        self.camera = camera.prepare(ctx)
        sky_canvas = sky.prepare(ctx)
        star_canvas = stars.prepare(ctx)  # a star field's sky, where the sky's canvas is None
        the_water = water.prepare(ctx)
        white_water = foam.prepare(ctx)  # draws nothing from the random stream
        sway = foliage.prepare(ctx)
        sparkles = twinkle.prepare(ctx, self.camera, the_water.glints if the_water else ())
        falling = particles.prepare(ctx)
        self.light = light.prepare(ctx)
        life = people.prepare(ctx)  # its own random stream: prepared last or not, alike
        haze = mist.prepare(ctx, sky_canvas)  # its own random stream too
        photo = ctx.image if the_water is None else the_water.crests.on(ctx.image)
        self.photo = cv2.cvtColor(photo, cv2.COLOR_RGB2RGBA)
        self.sky: sky.SkyDrift | stars.StarTurn | None = None
        star_twinkle = None
        if sky_canvas is not None:
            self.sky = sky_canvas.over(self.photo, ctx.timeline)
        elif star_canvas is not None:
            turn = star_canvas.over(self.photo, ctx.timeline)
            self.sky, star_twinkle = turn, stars.twinkle(turn, self.camera)
        layers: list[Layer | None] = [
            self.sky,
            white_water,
            self.camera,
            the_water.ripple if the_water else None,
            sway,
            life,
            Warp(),
            haze,
            self.light,
            sparkles,
            star_twinkle,
            falling,
        ]
        self.layers: list[Layer] = [layer for layer in layers if layer is not None]
        held = []
        if ctx.still is not None:
            held = [{"region": "faces", "kind": "held still", "count": len(scene.faces)}]
        self.motions: list[dict[str, Any]] = [
            *_motions(self.camera, self.sky),
            *held,
            *_motions(the_water.ripple if the_water else None, white_water, sway, life, haze),
            *_motions(sparkles, star_twinkle, falling, self.light),
        ]

    def render(self, index: int, out: np.ndarray, frame: Frame) -> None:
        """Renders frame `index` into `out`, with one thread's `frame` (its buffers)."""
        frame.start(index, self.timeline.fps, out)
        for layer in self.layers:
            layer.apply(frame)

    def render_all(self, on_frame: Callable[[int, np.ndarray], None] | None = None) -> np.ndarray:
        """Renders every frame, in threads; `on_frame(i, frame)` gets them in order as they are
        done (see parallel.render_in_threads)."""
        height, width = self.photo.shape[:2]
        frames = frame_buffer(self.timeline.count, height, width)

        def frame_renderer() -> Callable[[int], None]:
            frame = Frame.for_photo(self.photo)
            return lambda index: self.render(index, frames[index], frame)

        render_in_threads(
            self.timeline.count,
            frame_renderer,
            on_frame=None if on_frame is None else lambda index: on_frame(index, frames[index]),
        )
        return frames


def _motions(*layers: Layer | None) -> list[dict[str, Any]]:
    """What the layers move, in order, for the clip's scene description."""
    return [motion for layer in layers if layer is not None for motion in layer.motions]
