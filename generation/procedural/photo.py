"""Photo fitting: the photo cover-cropped to the frame, and its faces in the frame's pixels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from ..scene import Scene, analyze_scene, detect_faces


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


def faces_in_frame(
    photo: Image.Image,
    width: int,
    height: int,
    boxes: Sequence[Sequence[float]] | None = None,
) -> list[tuple[int, int, int, int]]:
    """Faces of the whole photo as boxes in the cover-cropped frame's pixels (clipped to it).

    `boxes` are faces already found, as fractions of the photo (x, y, w, h: the input gate's
    `faces.count` boxes); without them the photo is searched here. Looking before the crop finds
    faces the crop cuts (a portrait's forehead or chin), which a detector misses in the frame."""
    photo, scale, x0, y0 = _prepared(photo, width, height)
    src_w, src_h = photo.size
    if boxes is None:
        found = detect_faces(np.asarray(photo, dtype=np.uint8))
    else:
        found = [(bx * src_w, by * src_h, bw * src_w, bh * src_h) for bx, by, bw, bh in boxes]
    frame = []
    for x, y, w, h in found:
        fx0, fy0 = max(0.0, (x - x0) * scale), max(0.0, (y - y0) * scale)
        fx1, fy1 = min(width, (x + w - x0) * scale), min(height, (y + h - y0) * scale)
        # kept while a fair part of the face is in the frame
        if fx1 > fx0 and fy1 > fy0 and (fx1 - fx0) * (fy1 - fy0) >= 0.3 * (w * h * scale * scale):
            frame.append((round(fx0), round(fy0), round(fx1 - fx0), round(fy1 - fy0)))
    return frame


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
