"""Contact sheets for bench/generation_eval.py: a clip's first, middle and last frames beside a heat
map of what moved on its own, so a person can look at a clip as well as read its numbers."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAPTION_PX = 22  # the strip above each picture that says what it is
SCALE_FLOOR = 0.05  # pixels per frame: the heat map's top never falls below this (a still clip)
# region outlines on the heat map (RGB): sky white, water cyan, foliage green
OUTLINES = {"sky": (255, 255, 255), "water": (0, 255, 255), "foliage": (80, 255, 80)}


def heat_map(motion: np.ndarray, scale: float) -> np.ndarray:
    """Motion (pixels per frame) as RGB through the inferno colour map, 0 black, `scale` and
    above pale yellow."""
    levels = np.clip(motion / scale * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def heat_scale(motion: np.ndarray) -> float:
    """The heat map's top: the 99th percentile of the motion, so a few smeared edges do not wash
    out the rest; per photo, which is why every sheet prints its scale."""
    return max(float(np.percentile(motion, 99)), SCALE_FLOOR)


def _outlined(picture: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """The picture with the outline of each named region drawn on it."""
    out = picture.copy()
    for name, mask in masks.items():
        contours, _ = cv2.findContours(
            mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(out, contours, -1, OUTLINES[name], 1)
    return out


def _colour_bar(width: int, scale: float, font: ImageFont.ImageFont) -> Image.Image:
    """A strip from 0 to `scale` pixels per frame, labelled at both ends."""
    ramp = np.tile(np.linspace(0.0, scale, width, dtype=np.float32), (10, 1))
    bar = Image.new("RGB", (width, 10 + CAPTION_PX), "black")
    bar.paste(Image.fromarray(heat_map(ramp, scale)), (0, 0))
    draw = ImageDraw.Draw(bar)
    draw.text((4, 12), "0", fill="white", font=font)
    label = f"{scale:.2f} px/frame and more"
    draw.text((width - 4 - draw.textlength(label, font=font), 12), label, fill="white", font=font)
    return bar


def contact_sheet(
    frames: np.ndarray,
    fps: int,
    residual: np.ndarray,
    regions: dict[str, np.ndarray],
    title: str,
) -> Image.Image:
    """One picture: the title, then first | middle on one row and last | the residual-motion heat
    map (region outlines on it, a labelled colour bar under it) on the next."""
    height, width = frames.shape[1:3]
    font = ImageFont.load_default(size=14)
    middle, last = frames.shape[0] // 2, frames.shape[0] - 1
    scale = heat_scale(residual)
    tiles = [
        ("first frame (0.00 s)", frames[0]),
        (f"middle frame ({middle / fps:.2f} s)", frames[middle]),
        (f"last frame ({last / fps:.2f} s)", frames[last]),
        (
            "motion less the camera's, mean over the clip (outlines: sky, water, foliage)",
            _outlined(heat_map(residual, scale), regions),
        ),
    ]
    cell = height + CAPTION_PX
    sheet = Image.new("RGB", (2 * width, CAPTION_PX + 2 * cell + 10 + CAPTION_PX), "black")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), title, fill="white", font=font)
    for index, (caption, picture) in enumerate(tiles):
        x, y = (index % 2) * width, CAPTION_PX + (index // 2) * cell
        draw.text((x + 4, y + 3), caption, fill="white", font=font)
        sheet.paste(Image.fromarray(picture), (x, y + CAPTION_PX))
    sheet.paste(_colour_bar(width, scale, font), (width, CAPTION_PX + 2 * cell))
    return sheet
