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


def night_photo(
    width: int = 640,
    height: int = 360,
    *,
    stars: int = 1500,
    horizon: float = 0.65,
    city: bool = False,
    tree: bool = False,
    seed: int = 0,
) -> Image.Image:
    """A night sky, dark blue and lighter toward the horizon, with `stars` points of light over
    black hills; with `tree`, a tree's black silhouette rises from the hills into the sky (its
    crown a disc a fifth of the height across, centred at a third of the width); with `city`,
    lit towers (windows in rows, some reaching the frame's top) stand on the hills."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, low = np.array([8, 12, 34], np.float32), np.array([26, 34, 70], np.float32)
    pixels = np.broadcast_to(top + (low - top) * np.clip(rows / horizon, 0, 1), (height, width, 3))
    pixels = pixels.copy()
    points = np.zeros((height, width), np.float32)
    ys, xs = rng.uniform(0, height, stars), rng.uniform(0, width, stars)
    levels = 255.0 * rng.uniform(0.25, 1.0, stars) ** 2
    points[ys.astype(int), xs.astype(int)] = levels
    points = cv2.GaussianBlur(points, (0, 0), 0.6) * 2.0
    pixels += points[..., None] * np.array([0.9, 0.95, 1.0], np.float32)
    x = np.arange(width, dtype=np.float32)
    ridge = horizon * height + 0.06 * height * np.sin(x / width * 7.0 + rng.uniform(0, 6))
    ridge += 0.02 * height * np.sin(x / width * 23.0 + rng.uniform(0, 6))
    ground = np.arange(height, dtype=np.float32)[:, None] >= ridge[None, :]
    if tree:
        ground |= (np.abs(x - width / 3)[None, :] < 0.012 * width) & (
            np.arange(height)[:, None] > 0.3 * height
        )
        yy, xx = np.mgrid[0:height, 0:width]
        ground |= (xx - width / 3) ** 2 + (yy - 0.3 * height) ** 2 < (0.1 * height) ** 2
    pixels[ground] = (6, 7, 10)
    if city:
        for left in range(width // 12, width - width // 8, width // 6):
            tower_w = int(rng.uniform(0.06, 0.1) * width)
            tower_top = 0 if left // (width // 6) % 2 == 0 else int(rng.uniform(0.2, 0.4) * height)
            pixels[tower_top:, left : left + tower_w] = (22, 22, 26)
            for wy in range(tower_top + 4, height - 4, 8):
                for wx in range(left + 3, left + tower_w - 3, 6):
                    if rng.random() < 0.6:
                        pixels[wy : wy + 3, wx : wx + 2] = (250, 220, 150)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")
