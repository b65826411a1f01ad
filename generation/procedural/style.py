"""Styles: how strongly each layer moves and the static look (contrast, glow, saturation)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Style:
    cloud_opacity: float
    cloud_coverage: float  # 0 sparse wisps .. 1 overcast
    speed: float  # multiplies drift, ripple and sway speeds
    push: float  # multiplies the camera push
    exposure: float  # amplitude of the exposure breathing
    warmth: float  # warmth drift over the clip (+ warmer)
    contrast: float  # static contrast of the look
    glow: float  # static soft glow of the look
    saturation: float


STYLES: dict[str, Style] = {
    "calm": Style(0.45, 0.35, 1.0, 1.0, 0.025, 0.03, 1.0, 0.0, 1.0),
    "dramatic": Style(0.65, 0.5, 1.6, 1.5, 0.06, 0.06, 1.12, 0.0, 1.1),
    "dreamy": Style(0.5, 0.4, 0.7, 0.8, 0.035, 0.04, 0.95, 0.3, 0.9),
}
MOTION_SCALE = {"low": 0.5, "medium": 1.0, "high": 1.8}


def with_look(image: np.ndarray, style: Style, scale: float) -> np.ndarray:
    """The photo with the style's static look; `scale` is the frame's size against 720p."""
    if style.contrast == 1.0 and style.glow == 0.0 and style.saturation == 1.0:
        return image
    f = image.astype(np.float32) / 255.0
    if style.glow > 0:
        blur = cv2.GaussianBlur(f, (0, 0), 12 * scale)
        f = 1.0 - (1.0 - f) * (1.0 - style.glow * blur)  # screen a soft glow over the photo
    if style.contrast != 1.0:
        f = np.clip(0.5 + (f - 0.5) * style.contrast, 0.0, 1.0)
    if style.saturation != 1.0:
        grey = f.mean(axis=2, keepdims=True)
        f = np.clip(grey + (f - grey) * style.saturation, 0.0, 1.0)
    return np.ascontiguousarray((f * 255.0 + 0.5).astype(np.uint8))
