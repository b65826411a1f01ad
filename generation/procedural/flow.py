"""Local flows (water's ripple, foliage's sway): oscillating offsets added to the warp's maps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .context import LayerContext
from .frame import Frame

Box = tuple[slice, slice]


@dataclass(frozen=True)
class Oscillation:
    """amplitude * sin(phase - omega t) over a box, kept as two fixed fields (amplitude times the
    sine and the cosine of the phase) that each frame combines."""

    box: Box
    sin_part: np.ndarray
    cos_part: np.ndarray
    omega: float  # radians per second

    @classmethod
    def of(cls, box: Box, amplitude: np.ndarray, phase: np.ndarray, omega: float) -> Oscillation:
        """The oscillation of `amplitude` (pixels) and `phase` (radians) over the box."""
        return cls(
            box,
            (amplitude * np.sin(phase)).astype(np.float32),
            (amplitude * np.cos(phase)).astype(np.float32),
            omega,
        )

    def add_to(self, target: np.ndarray, t: float) -> None:
        """Adds the offsets at time t to a map, in place."""
        c, s = math.cos(self.omega * t), math.sin(self.omega * t)
        region = target[self.box]
        cv2.scaleAdd(self.sin_part, c, region, dst=region)
        cv2.scaleAdd(self.cos_part, -s, region, dst=region)

    def at(self, t: float) -> np.ndarray:
        """The offsets at time t over the box, in float (the reference add_to is checked against)."""
        return self.sin_part * math.cos(self.omega * t) - self.cos_part * math.sin(self.omega * t)


@dataclass(frozen=True)
class LocalFlow:
    """A region's flow: one oscillation across (x) and one along (y) the rows."""

    x: Oscillation
    y: Oscillation
    motions: tuple[dict[str, Any], ...]

    def apply(self, frame: Frame) -> None:
        self.x.add_to(frame.map_x, frame.t)
        self.y.add_to(frame.map_y, frame.t)


def local_region(
    ctx: LayerContext, name: str, feather: float, inset: float
) -> tuple[Box, np.ndarray] | None:
    """A region's feathered mask (less the faces: no local flow warps them) cropped to its
    bounding box."""
    mask = ctx.scene.mask(
        name,
        ctx.width,
        ctx.height,
        feather_px=feather * ctx.scale,
        inset_px=inset * ctx.scale,
    )
    if ctx.identity is not None:
        mask *= 1.0 - ctx.identity
    ys, xs = np.nonzero(mask > 1e-3)
    if ys.size == 0:
        return None
    box = slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)
    return box, mask[box]
