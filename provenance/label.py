"""The visible "AI-generated" label burned into every frame before the single encode.

The patch (a translucent dark box with white text) is rendered once per frame size and only its
rectangle of each frame is alpha-blended, so labelling 120 720p frames costs a few milliseconds.
White text over a box that darkens whatever lies beneath keeps it legible on bright and dark frames.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

Corner = Literal["bottom-right", "bottom-left", "top-right", "top-left"]
CORNERS: tuple[Corner, ...] = ("bottom-right", "bottom-left", "top-right", "top-left")

BOX_OPACITY = 0.62  # white text over this box: contrast >= 4.5:1 even on a pure white frame
TEXT_HEIGHT_FRACTION = 0.045  # cap height of the text relative to the frame height
MIN_TEXT_PX = 9


@dataclass(frozen=True)
class LabelPatch:
    """A rendered label: premultiplied colour and 8-bit alpha, with its place in the frame."""

    top: int
    left: int
    color: np.ndarray  # (h, w, 3) uint8, colour * alpha (premultiplied)
    keep: np.ndarray  # (h, w, 3) uint8, 255 - alpha: how much of the frame shows through

    @property
    def height(self) -> int:
        return int(self.keep.shape[0])

    @property
    def width(self) -> int:
        return int(self.keep.shape[1])


@functools.lru_cache(maxsize=64)
def render_label(
    height: int, width: int, text: str = "AI-generated", corner: Corner = "bottom-right"
) -> LabelPatch:
    """Render the label patch for frames of `height` x `width`, placed in `corner`."""
    if corner not in CORNERS:
        raise ValueError(f"corner must be one of {CORNERS}, not {corner!r}")
    font_px = max(MIN_TEXT_PX, round(height * TEXT_HEIGHT_FRACTION / 0.72))
    font = ImageFont.load_default(size=font_px)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    pad = max(3, font_px // 3)
    box_w = min(width, right - left + 2 * pad)
    box_h = min(height, bottom - top + 2 * pad)
    # Alpha of the box, then the text drawn fully opaque (its antialiased edges blend).
    alpha = Image.new("L", (box_w, box_h), round(255 * BOX_OPACITY))
    text_mask = Image.new("L", (box_w, box_h), 0)
    ImageDraw.Draw(text_mask).text((pad - left, pad - top), text, fill=255, font=font)
    text_alpha = np.asarray(text_mask, dtype=np.float32) / 255.0
    box_alpha = np.asarray(alpha, dtype=np.float32) / 255.0
    total_alpha = box_alpha + text_alpha * (1.0 - box_alpha)
    # Box colour is black (contributes nothing); text is white.
    premultiplied_white = text_alpha * 255.0
    margin = max(2, round(height * 0.025))
    top_px = margin if corner.startswith("top") else height - box_h - margin
    left_px = margin if corner.endswith("left") else width - box_w - margin
    keep = (255 - (total_alpha * 255.0).round()).astype(np.uint8)
    return LabelPatch(
        top=max(0, top_px),
        left=max(0, left_px),
        color=np.repeat(premultiplied_white.round().astype(np.uint8)[..., None], 3, axis=2),
        keep=np.repeat(keep[..., None], 3, axis=2),
    )


def burn_label(
    frames: np.ndarray, text: str = "AI-generated", corner: Corner = "bottom-right"
) -> None:
    """Burn the visible label into `frames` in place ((N, H, W, 3) uint8 RGB)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}"
        )
    patch = render_label(frames.shape[1], frames.shape[2], text, corner)
    # out = pixel * (255 - alpha) / 255 + premultiplied colour; OpenCV's saturating uint8
    # arithmetic does it with SIMD on just the patch rectangle of each frame, in place.
    bottom, right = patch.top + patch.height, patch.left + patch.width
    for frame in frames:
        region = frame[patch.top : bottom, patch.left : right]
        cv2.multiply(region, patch.keep, dst=region, scale=1.0 / 255.0)
        cv2.add(region, patch.color, dst=region)


def corner_clear_of(
    boxes_xywh: list[list[float]], *, patch_fraction: tuple[float, float] = (0.3, 0.12)
) -> Corner:
    """The corner whose label area overlaps the given face boxes least (ties: CORNERS order).

    Boxes are (x, y, w, h) as fractions of the frame, as the face signal reports them; the label
    area is approximated by `patch_fraction` (width, height) of the frame at each corner.
    """
    pw, ph = patch_fraction
    areas = {
        "bottom-right": (1 - pw, 1 - ph, 1.0, 1.0),
        "bottom-left": (0.0, 1 - ph, pw, 1.0),
        "top-right": (1 - pw, 0.0, 1.0, ph),
        "top-left": (0.0, 0.0, pw, ph),
    }

    def overlap(corner: Corner) -> float:
        x0, y0, x1, y1 = areas[corner]
        total = 0.0
        for x, y, w, h in boxes_xywh:
            dx = max(0.0, min(x1, x + w) - max(x0, x))
            dy = max(0.0, min(y1, y + h) - max(y0, y))
            total += dx * dy
        return total

    return min(CORNERS, key=lambda corner: (overlap(corner), CORNERS.index(corner)))
