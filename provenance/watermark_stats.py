"""The luma statistics a watermark reader accumulates from a clip, one frame at a time.

The mark is read from the average of a clip's frames (every frame carries the same mark), so a
reader keeps running sums, not frames: `LumaStats` keeps each pixel's mean, least and greatest luma
at 640 x 360, up to 640 x 480 for a narrower copy (`stats_size`); the least and greatest tell
still, flat bars from the picture, and clipped pixels from marked ones. It also keeps how much of
each pixel's luma comes from channels clipped at white or black (`clip_balance`), so a reader can
put a contrast boost's clipped channels back where the gain it finds would have sent them
(watermark_decode). `mean_luma` keeps the plain average at the detector's resolution. The
detection flow that reads them is watermark_detect.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from provenance.watermark import LUMA_WEIGHTS, SUPER_SIZE, rgb_luma, shrink
from provenance.watermark_framing import STILL_LEVELS, Box, picture_box

# A channel (or a pixel's luma) this close to black or white was clipped there (a contrast boost,
# a blown sky): clipped channels keep none of the mark and scale the host unevenly (see
# UNCLIP_REACH in watermark_decode and CLIPPED_SHARE in watermark_detect).
CLIPPED_LEVELS = 2.0
# LumaStats keeps the frames at this size: bars are cut at it, and 720p and 1080p shrink to it by
# whole pixels (the area average's fast path). A half-size inset keeps 6.7 pixels per cell here
# (3.3 at 320 x 180): its lattice fit at the true place after CRF 28 was 0.05-0.16, now 0.13-0.23.
_STATS_SIZE = (640, 360)
_TALLEST = 480
# Per uint8 level, the clip it sits at (`clip_balance`): -1 black, +1 white, 0 neither.
_CLIP_SIDE = np.zeros((1, 256), np.float32)
_CLIP_SIDE[0, : int(CLIPPED_LEVELS) + 1] = -1
_CLIP_SIDE[0, 255 - int(CLIPPED_LEVELS) :] = 1


def mean_luma(frames: np.ndarray) -> np.ndarray:
    """Average luma of all frames at a few pixels per cell: what detection works from."""
    total = np.zeros(SUPER_SIZE[::-1], np.float32)
    for frame in frames:
        total += rgb_luma(shrink(frame, *SUPER_SIZE))
    return total / max(1, len(frames))


def stats_size(aspect: float) -> tuple[int, int]:
    """(width, height) LumaStats keeps a copy `aspect` wide at: 640 wide, and square pixels down
    to 4:3 (480 high), where a letterboxed copy's picture would otherwise keep only 162 lines."""
    width, height = _STATS_SIZE
    return width, int(np.clip(round(width / aspect), height, _TALLEST))


def clip_balance(rgb: np.ndarray) -> np.ndarray:
    """Per pixel of uint8 RGB, the luma weight of its channels within CLIPPED_LEVELS of white
    less that of its channels within CLIPPED_LEVELS of black (-1 all black, +1 all white)."""
    return cv2.transform(cv2.LUT(rgb, _CLIP_SIDE), LUMA_WEIGHTS[None, :])


class StatsFrame(NamedTuple):
    """One frame as LumaStats counts it, at the resolution it keeps."""

    luma: np.ndarray
    clip_balance: np.ndarray


def stats_frame(frame: np.ndarray) -> StatsFrame:
    """One (H, W, 3) uint8 RGB frame's luma and clip balance at the resolution LumaStats keeps."""
    small = shrink(frame, *stats_size(frame.shape[1] / frame.shape[0]))
    return StatsFrame(rgb_luma(small), clip_balance(small))


class LumaStats:
    """Per-pixel mean, least and greatest luma of a clip's frames, and their clip balance,
    added one frame at a time.

    Kept at 640 x 360 (640 x 480 for a 4:3 copy, see `stats_size`), above the detector's
    resolution: the mean is what the mark is read from, the least and greatest tell still, flat
    bars (letterbox, pillarbox) from the picture, and the balance (`total` and `balance` are
    sums over the frames) where a contrast boost clipped channels.
    """

    def __init__(self) -> None:
        self._start(_STATS_SIZE[::-1])  # until the first frame says its shape
        self.frames = 0
        self.aspect = 16 / 9  # the copy's width / height in pixels, set by the first frame

    def add(self, frame: np.ndarray) -> None:
        """Count one (H, W, 3) uint8 RGB frame in."""
        self.add_frame(stats_frame(frame), frame.shape[1] / frame.shape[0])

    def add_frame(self, frame: StatsFrame, aspect: float) -> None:
        """Count in one `stats_frame`, the frame being `aspect` (width / height) wide."""
        luma, balance = frame
        if self.frames == 0 and luma.shape != self.total.shape:
            self._start(luma.shape)
        elif luma.shape != self.total.shape:  # a stream that changes its frame size midway
            size = self.total.shape[::-1]
            luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
            balance = cv2.resize(balance, size, interpolation=cv2.INTER_AREA)
        self.total += luma
        self.balance += balance
        np.minimum(self.low, luma, out=self.low)
        np.maximum(self.high, luma, out=self.high)
        self.frames += 1
        self.aspect = aspect

    def _start(self, shape: tuple[int, ...]) -> None:
        """Empty sums at `shape`: the first frame's, once it is known."""
        self.total = np.zeros(shape, np.float32)
        self.balance = np.zeros(shape, np.float32)
        self.low = np.full(shape, np.inf, np.float32)
        self.high = np.full(shape, -np.inf, np.float32)

    def still(self) -> bool:
        """Whether the picture never changes (a still image shown as a clip): its frames then
        average no compression noise out, and the mark is read as from one frame."""
        if self.frames < 2:
            return False
        return float(np.percentile(self.high - self.low, 99)) <= STILL_LEVELS

    def clipped(self) -> np.ndarray:
        """Per pixel, whether its luma came within CLIPPED_LEVELS of black or white in any frame."""
        return (self.low <= CLIPPED_LEVELS) | (self.high >= 255 - CLIPPED_LEVELS)

    def picture(self) -> Box | None:
        """Where the picture sits once bars are cut off; None when blank or never added to."""
        if self.frames == 0:
            return None
        return picture_box(self.total / self.frames, self.low, self.high)
