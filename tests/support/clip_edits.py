"""Edits a re-upload makes to a clip's frames: colour changes, an overlaid logo, crops.

The watermark tests and bench/provenance.py apply the same edits, so their figures agree.
"""

from __future__ import annotations

import cv2
import numpy as np

from tests.support.photo_clips import animate, photo


def contrast(frames: np.ndarray, gain: float) -> np.ndarray:
    """Scale every channel's distance from mid-grey by `gain`."""
    return np.clip((frames.astype(np.float32) - 128) * gain + 128, 0, 255).astype(np.uint8)


def brighten(frames: np.ndarray, levels: int) -> np.ndarray:
    """Add `levels` grey levels to every pixel (negative darkens)."""
    return np.clip(frames.astype(np.int16) + levels, 0, 255).astype(np.uint8)


def overlay_logo(
    frames: np.ndarray, text_scale: float = 1.2, thickness: int = 3, margin: int = 8
) -> np.ndarray:
    """A light logo box with text over ~10 % of the frame, away from the corners (the text's
    scale, stroke and margin in pixels suit a 270-line clip by default)."""
    out = frames.copy()
    height, width = frames.shape[1:3]
    top, left = int(0.55 * height), int(0.35 * width)
    bottom, right = top + int(0.3 * height), left + int(0.33 * width)
    out[:, top:bottom, left:right] = (240, 240, 240)
    for frame in out:
        cv2.putText(
            frame,
            "LOGO",
            (left + margin, bottom - margin),
            cv2.FONT_HERSHEY_SIMPLEX,
            text_scale,
            (20, 20, 200),
            thickness,
        )
    return out


def crop_every_side(frames: np.ndarray, share: float) -> np.ndarray:
    """Cut `share` off every side, then scale back to the original size."""
    height, width = frames.shape[1:3]
    dy, dx = int(share * height), int(share * width)
    return np.stack(
        [cv2.resize(f[dy : height - dy, dx : width - dx], (width, height)) for f in frames]
    )


def cut_sides(
    frames: np.ndarray, left: float, top: float, right: float = 0, bottom: float = 0
) -> np.ndarray:
    """Cut shares off the given sides and keep the copy at its own, smaller (even) size."""
    height, width = frames.shape[1:3]
    top_row, left_col = int(top * height), int(left * width)
    rows = (height - int(bottom * height) - top_row) // 2 * 2  # H.264 wants even sizes
    cols = (width - int(right * width) - left_col) // 2 * 2
    return np.ascontiguousarray(frames[:, top_row : top_row + rows, left_col : left_col + cols])


Colour = tuple[int, int, int]


def mirror(frames: np.ndarray) -> np.ndarray:
    """Left-right, the commonest re-upload trick."""
    return np.ascontiguousarray(frames[:, :, ::-1])


def flip(frames: np.ndarray) -> np.ndarray:
    """Upside down."""
    return np.ascontiguousarray(frames[:, ::-1])


def pad(frames: np.ndarray, top: int, bottom: int, left: int, right: int, colour: Colour):
    """Bars of one colour around the frames (sides in pixels)."""
    count, height, width = frames.shape[:3]
    out = np.empty((count, height + top + bottom, width + left + right, 3), np.uint8)
    out[:] = colour
    out[:, top : top + height, left : left + width] = frames
    return out


def boxed(frames: np.ndarray, aspect: float, colour: Colour = (0, 0, 0)) -> np.ndarray:
    """Letterboxed (or pillarboxed) into a frame of `aspect`, centred, even-sized for H.264."""
    height, width = frames.shape[1:3]
    tall = round(width / aspect) // 2 * 2
    if tall >= height:
        top = (tall - height) // 2
        return pad(frames, top, tall - height - top, 0, 0, colour)
    wide = round(height * aspect) // 2 * 2
    left = (wide - width) // 2
    return pad(frames, 0, 0, left, wide - width - left, colour)


def rotate(frames: np.ndarray, degrees: float) -> np.ndarray:
    """Turned counter-clockwise about the centre and zoomed just enough to fill the frame."""
    height, width = frames.shape[1:3]
    turn = np.radians(abs(degrees))
    zoom = np.cos(turn) + np.sin(turn) * max(width / height, height / width)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, zoom)
    return np.stack([cv2.warpAffine(frame, matrix, (width, height)) for frame in frames])


def inset(frames: np.ndarray, share: float, x: float, y: float) -> np.ndarray:
    """Shown at `share` of the width and height inside another moving picture, at (x, y) of the
    room left (0: left or top, 1: right or bottom)."""
    count, height, width = frames.shape[:3]
    out = animate(photo(11, width, height), count=count, motion=0.1)
    small = (round(width * share) // 2 * 2, round(height * share) // 2 * 2)
    left, top = round(x * (width - small[0])), round(y * (height - small[1]))
    for frame, shown in zip(frames, out, strict=True):
        picture = cv2.resize(frame, small, interpolation=cv2.INTER_AREA)
        shown[top : top + small[1], left : left + small[0]] = picture
    return out
