"""Camera layer: a slow push whose strength grows with coarse depth (parallax: the foreground moves
more than the sky). It starts each frame's warp maps; the local flows add to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .context import LayerContext, Timeline
from .frame import Frame


@dataclass(frozen=True)
class CameraPush:
    reach: float  # the push at its full extent, as a share of the distance to the centre
    center: tuple[float, float]  # in pixels
    depth_weight: np.ndarray  # per row: far (sky, horizon) 0.35 .. near (bottom) 1.0
    flow_x: np.ndarray  # where each pixel reads from at full push, less where it is
    flow_y: np.ndarray
    grid_x: np.ndarray
    grid_y: np.ndarray
    timeline: Timeline
    motions: tuple[dict[str, Any], ...]

    def apply(self, frame: Frame) -> None:
        frame.zoom = zoom = self.reach * self.timeline.ease(frame.t)
        cv2.scaleAdd(self.flow_x, zoom, self.grid_x, dst=frame.map_x)
        cv2.scaleAdd(self.flow_y, zoom, self.grid_y, dst=frame.map_y)

    def moved(self, x: float, y: float, zoom: float) -> tuple[int, int]:
        """Where the push at `zoom` has moved the photo's point (x, y): the inverse of the map."""
        zx, zy = self.center
        k = zoom * float(self.depth_weight[min(len(self.depth_weight) - 1, max(0, int(y)))])
        return round(zx + (x - zx) / (1.0 - k)), round(zy + (y - zy) / (1.0 - k))


def prepare(ctx: LayerContext) -> CameraPush:
    """The push for the scene's horizon, centred near the middle; faces held still stay put."""
    h, w = ctx.height, ctx.width
    scene = ctx.scene
    rows = np.arange(h, dtype=np.float32) / max(h - 1, 1)
    near = np.clip((rows - scene.horizon) / max(1e-3, 1.0 - scene.horizon), 0.0, 1.0)
    depth_weight = (0.35 + 0.65 * near)[:, None]
    cx = w * (0.5 + ctx.rng.uniform(-0.2, 0.2))
    cy = h * (0.5 + ctx.rng.uniform(-0.1, 0.1))
    # a slow push that eases toward 2.5% (a loop pushes 1.25% in and back out): subtle, so
    # what nothing animates stays nearly still beside the sky and water (half that over
    # parallel lines, see context.STRIPES_CALM)
    reach = 0.0125 if ctx.options.loop else 0.025
    push = reach * ctx.intensity * ctx.style.push * ctx.plan.camera * ctx.steadiness
    flow_x = -(ctx.grid_x - cx) * depth_weight
    flow_y = -(ctx.grid_y - cy) * depth_weight
    if ctx.still is not None:
        # faces held still: the camera's flow is pinned to zero on them (feathered around)
        flow_x *= 1.0 - ctx.still
        flow_y *= 1.0 - ctx.still
    motion = {
        "region": "all",
        "kind": "camera push with depth parallax",
        "zoom": round(push, 4),
        "center": [round(cx / w, 3), round(cy / h, 3)],
    }
    return CameraPush(
        reach=push,
        center=(cx, cy),
        depth_weight=depth_weight[:, 0],
        flow_x=flow_x,
        flow_y=flow_y,
        grid_x=ctx.grid_x,
        grid_y=ctx.grid_y,
        timeline=ctx.timeline,
        motions=(motion,),
    )
