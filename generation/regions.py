"""Mask helpers the region finders share: connected components, holes, and how striped a texture is.

They work on the small analysis copy of the photo (ANALYSIS_SIDE), so a loop over a mask's
components stays cheap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

ANALYSIS_SIDE = 384  # the long side of the analysis copy, pixels
Box = tuple[slice, slice]
# keep_open(hole, box): whether a hole (a boolean mask over `box`) is something else than the region
HoleTest = Callable[[np.ndarray, Box], bool]
HOLE_MARGIN = 2  # pixels around a hole's bounding box, so a test sees what surrounds it


def components(mask: np.ndarray, keep) -> np.ndarray:
    """Keeps the connected components of a boolean mask for which keep(stats_row, label) is true."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=4
    )
    out = np.zeros(mask.shape, np.float32)
    for label in range(1, count):
        if keep(stats[label], labels == label):
            out[labels == label] = 1.0
    return out


@dataclass(frozen=True)
class Patch:
    """A connected part of what a mask leaves out (4-connected): its pixels over `box`, its size in
    pixels, and which of the frame's edges ("top", "bottom", "left", "right") it touches."""

    pixels: np.ndarray
    box: Box
    area: int
    edges: frozenset[str]


def patches_outside(mask: np.ndarray) -> Iterator[Patch]:
    """Each connected patch where a 0/1 mask is below 0.5, its box widened by HOLE_MARGIN."""
    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (mask < 0.5).astype(np.uint8), connectivity=4
    )
    for label in range(1, count):
        x, y, cw, ch, area = (int(v) for v in stats[label])
        touched = {"top": y == 0, "bottom": y + ch == h, "left": x == 0, "right": x + cw == w}
        box = (
            slice(max(0, y - HOLE_MARGIN), y + ch + HOLE_MARGIN),
            slice(max(0, x - HOLE_MARGIN), x + cw + HOLE_MARGIN),
        )
        edges = frozenset(edge for edge, touches in touched.items() if touches)
        yield Patch(labels[box] == label, box, area, edges)


def fill_small_holes(
    mask: np.ndarray, max_fraction: float, keep_open: HoleTest | None = None
) -> np.ndarray:
    """Fills holes fully inside the region that are smaller than max_fraction of the image, except
    those `keep_open` says are something else (a kite or a bird in front of the sky)."""
    limit = max_fraction * mask.size
    out = mask.copy()
    for hole in patches_outside(mask):
        if hole.edges or hole.area > limit:
            continue
        if keep_open is None or not keep_open(hole.pixels, hole.box):
            out[hole.box][hole.pixels] = 1.0
    return out


def stripes(gray: np.ndarray, region: np.ndarray) -> float:
    """How one-directional a region's texture is: 1 - sqrt(minor / major eigenvalue) of its summed
    gradient structure tensor. Parallel lines (a road's markings, a guard rail) give nearly 1; a
    texture with edges every way gives well under 0.5."""
    if not region.any():
        return 0.0
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)[region]
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)[region]
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    trace = jxx + jyy
    if trace <= 1e-6:
        return 0.0
    spread = np.sqrt((jxx - jyy) ** 2 + 4.0 * jxy * jxy)
    return float(1.0 - np.sqrt(max(0.0, trace - spread) / (trace + spread)))


def texture_of(gray: np.ndarray) -> np.ndarray:
    """Local gradient magnitude of an analysis-size grey image, in grey levels per pixel of a
    384-wide image, smoothed."""
    per_px = max(gray.shape[1], 1) / ANALYSIS_SIDE
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = (np.abs(gx) + np.abs(gy)) * (0.125 * per_px)
    return cv2.GaussianBlur(mag, (0, 0), 1.2)
