"""Image helpers the layers share: fractal noise, mask erosion and filling a hole from around it."""

from __future__ import annotations

import math

import cv2
import numpy as np


def smooth_noise(
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


def erode(mask: np.ndarray, radius: float) -> np.ndarray:
    """Shrinks a 0/1 mask by `radius` pixels."""
    return cv2.erode(mask, _disc(radius))


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Grows a 0/1 mask by `radius` pixels."""
    return cv2.dilate(mask, _disc(radius))


def _disc(radius: float) -> np.ndarray:
    k = 2 * max(1, round(radius)) + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))


def fill_from_mask(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
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
