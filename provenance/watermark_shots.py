"""A long upload cut into shots, so that a marked clip inside a compilation is read on its own.

The mark is read from the average of a clip's frames. Inside a 60 s compilation a 5 s clip is a
twelfth of that average, and the other clips' pictures drown its mark; speed changes and reversed
playback, by contrast, leave the average as it was (every frame carries the same mark). A cut is
where the picture jumps between two frames: the mean change of the 48 x 27 luma grid is tens of
levels at a cut and one or two within a generated clip's slow camera move. Each shot of a second
or more keeps its own statistics, and when the whole does not read, the shots are read one by
one (the MAX_SHOTS longest), so a clip is found at any offset.
"""

from __future__ import annotations

import cv2
import numpy as np

from provenance.watermark_decode import WatermarkReading
from provenance.watermark_detect import detect_in_stats
from provenance.watermark_stats import LumaStats, stats_frame

CUT_LEVELS = 12.0  # mean absolute change of the luma grid between two frames that is a cut
MIN_SHOT_SECONDS = 1.0  # shorter shots average too few frames to read on their own
MAX_SHOTS = 16  # the longest shots kept and read on their own (a fast edit has many cuts)
_CUT_GRID = (48, 27)


class ShotStats:
    """A clip's luma statistics, whole and per shot, added one frame at a time."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.whole = LumaStats()
        self.shots: list[tuple[int, LumaStats]] = []  # (first frame, statistics), long shots
        self._shot, self._start = LumaStats(), 0
        self._previous: np.ndarray | None = None

    def add(self, frame: np.ndarray) -> None:
        """Count one (H, W, 3) uint8 RGB frame in, starting a new shot at a cut."""
        counted = stats_frame(frame)
        grid = cv2.resize(counted.luma, _CUT_GRID, interpolation=cv2.INTER_AREA)
        if self._previous is not None and float(np.mean(np.abs(grid - self._previous))) > (
            CUT_LEVELS
        ):
            self._close()
        self._previous = grid
        aspect = frame.shape[1] / frame.shape[0]
        self._shot.add_frame(counted, aspect)
        self.whole.add_frame(counted, aspect)

    def _close(self) -> None:
        """End the current shot; keep it if it is long enough (and among the longest)."""
        if self._shot.frames >= MIN_SHOT_SECONDS * self.fps:
            self.shots.append((self._start, self._shot))
            self.shots.sort(key=lambda shot: -shot[1].frames)
            del self.shots[MAX_SHOTS:]
        self._start += self._shot.frames
        self._shot = LumaStats()

    def detect(self) -> WatermarkReading:
        """Read the whole clip; if it has cuts and does not read, its longest shots one by one."""
        reading = detect_in_stats(self.whole)
        if reading.clip_id is not None or self._start == 0:  # read, or a single shot
            return reading
        self._close()
        for start, stats in sorted(self.shots, key=lambda shot: shot[0]):
            found = detect_in_stats(stats)
            if found.clip_id is not None:
                span = f"{start / self.fps:.1f}-{(start + stats.frames) / self.fps:.1f} s"
                found.transform = (f"cut from a longer video (at {span})", *found.transform)
                return found
        return reading
