"""Synthetic photos with known regions, for tests, benchmarks and quality checks."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image


def landscape_photo(
    width: int = 640,
    height: int = 360,
    *,
    horizon: float = 0.5,
    water: bool = False,
    foliage: bool = False,
    clouds: bool = True,
    seed: int = 0,
) -> Image.Image:
    """A sky gradient (with soft clouds) over textured ground; optionally a band of water just below
    the horizon and a band of green, textured foliage at the bottom."""
    rng = np.random.default_rng(seed)
    h_line = int(height * horizon)
    rows = np.linspace(0.0, 1.0, max(h_line, 1), dtype=np.float32)[:, None, None]
    top, low = np.array([40, 95, 200], np.float32), np.array([170, 200, 235], np.float32)
    sky = np.broadcast_to(top + (low - top) * rows, (h_line, width, 3)).copy()
    if clouds:
        noise: np.ndarray = cv2.resize(
            rng.standard_normal((6, 12)).astype(np.float32),
            (width, h_line),
            interpolation=cv2.INTER_CUBIC,
        )
        noise += 0.3 * cv2.resize(
            rng.standard_normal((12, 24)).astype(np.float32),
            (width, h_line),
            interpolation=cv2.INTER_CUBIC,
        )
        cover = np.clip((noise - 0.4) / 1.5, 0.0, 1.0)[..., None] * 0.6
        sky = sky + (240.0 - sky) * cover
    ground_h = height - h_line
    base = np.array([120, 100, 80], np.float32)
    texture: np.ndarray = rng.normal(0.0, 28.0, (ground_h, width, 1)).astype(np.float32)
    texture = cv2.GaussianBlur(texture, (0, 0), 0.8)[..., None]
    ground = np.clip(base + texture, 0, 255)
    if water:
        band = int(ground_h * 0.45)
        yy = np.arange(band, dtype=np.float32)[:, None]
        ripple = (
            10.0 * np.sin(yy * 0.9 + rng.uniform(0, 6)) * np.sin(np.arange(width)[None, :] * 0.05)
        )
        water_rgb = np.stack([40 + ripple, 90 + ripple, 150 + ripple], axis=-1)
        ground[:band] = np.clip(water_rgb, 0, 255)
    if foliage:
        band = int(ground_h * 0.35)
        leaves: np.ndarray = rng.normal(0.0, 35.0, (band, width)).astype(np.float32)
        leaves = cv2.GaussianBlur(leaves, (0, 0), 1.0)
        green = np.stack([50 + 0.4 * leaves, 120 + leaves, 45 + 0.3 * leaves], axis=-1)
        ground[ground_h - band :] = np.clip(green, 0, 255)
    pixels = np.concatenate([sky, ground], axis=0)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")


def flat_photo(width: int, height: int, value: int | tuple[int, int, int]) -> Image.Image:
    """A featureless photo of one grey level or colour: the degenerate input analysis must bear."""
    colour = (value, value, value) if isinstance(value, int) else value
    return Image.new("RGB", (width, height), colour)
