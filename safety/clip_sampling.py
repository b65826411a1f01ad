"""One pass over a clip's frames that keeps only what the checks need, never the whole clip.

The temporal checks (flashes, scene cuts) read every frame, but only as a small grid of linear
luminance (`flash.linear_thumbnails`, 27 KB a frame); the classifiers read the frames sampled at
`sample_fps` and at the sharpest cuts. So frames stream through `ClipSampler.add` and are dropped
once thumbnailed, unless sampled. Sampled frames are kept at full resolution while they fit in
`FULL_RESOLUTION_BYTES` (Stillguard's own 1280x720 clips always do: at most ~21 frames, 58 MB);
past that, every kept frame is scaled down to `REDUCED_PIXELS`, which is still above every
classifier's input size (NudeNet 320, CLIP 224, Open NSFW 256, PDQ 64). A minute of any size then
holds at most 130 sampled frames of 0.7 MB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from safety.flash import SRGB_TO_LINEAR, grid_thumbnail

SAMPLE_FPS = 2.0
SCENE_CHANGE = 0.15  # mean change of linear luminance between frames that marks a cut
MAX_CUTS = 10  # sharpest cuts sampled besides the regular samples
FULL_RESOLUTION_BYTES = 64 * 2**20
REDUCED_PIXELS = 640 * 360
LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass
class SampledClip:
    """What the clip checks read: every frame's thumbnail, and the sampled frames themselves."""

    fps: float
    count: int  # frames in the clip
    thumbnails: np.ndarray  # (count, gh, gw, 3) linear float32
    indices: np.ndarray  # sampled frame numbers, ascending
    frames: np.ndarray  # (len(indices), h, w, 3) uint8 RGB, maybe scaled down
    sample_fps: float = SAMPLE_FPS
    audio: np.ndarray | None = None  # float32 (channels, samples)
    sample_rate: int | None = None

    @property
    def times(self) -> np.ndarray:
        """Seconds at which the sampled frames are shown."""
        return self.indices / self.fps

    @property
    def clip_end(self) -> float:
        """The clip's length in seconds."""
        return self.count / self.fps


def sample_times(n_frames: int, fps: float, sample_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices and their times at `sample_fps` (always including the first frame)."""
    if n_frames == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    duration = n_frames / fps
    step = 1.0 / sample_fps if sample_fps > 0 else duration
    times = np.arange(0.0, duration, step)
    indices = np.unique(np.minimum(np.round(times * fps).astype(np.int64), n_frames - 1))
    return indices, indices / fps


def scene_cuts(change: np.ndarray, threshold: float = SCENE_CHANGE, limit: int = MAX_CUTS):
    """Frames whose change from the one before (`change[i - 1]`) is over `threshold`: the
    `limit` largest (earlier first on ties), in frame order."""
    cuts = np.flatnonzero(change > threshold) + 1
    return np.sort(cuts[np.argsort(-change[cuts - 1], kind="stable")][:limit])


def _luminance_change(before: np.ndarray, after: np.ndarray) -> float:
    """Mean absolute change of linear luminance between two thumbnails."""
    return float(np.abs(after @ LUMA_WEIGHTS - before @ LUMA_WEIGHTS).mean())


class ClipSampler:
    """Takes a clip's RGB uint8 frames one at a time (`add`), and `finish`es as a SampledClip."""

    def __init__(self, fps: float, sample_fps: float = SAMPLE_FPS) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps, self.sample_fps = fps, sample_fps
        self._thumbnails: list[np.ndarray] = []  # uint8 grids: a quarter of the float size
        self._change: list[float] = []
        self._previous: np.ndarray | None = None  # the last frame's linear thumbnail
        self._sampled: dict[int, np.ndarray] = {}
        self._cuts: dict[int, tuple[float, np.ndarray]] = {}  # the sharpest cuts so far
        self._last: np.ndarray | None = None  # may be sampled once the count is known
        self._wanted = np.empty(0, dtype=np.int64)
        self._shape: tuple[int, ...] | None = None
        self._reduced: tuple[int, int] | None = None  # (width, height) once frames are scaled

    def add(self, frame: np.ndarray) -> None:
        """Thumbnail one frame, and keep it if it is sampled or among the sharpest cuts."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {frame.dtype} {frame.shape}")
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:  # a stream that changes size: check it at the first's
            frame = cv2.resize(frame, self._shape[1::-1], interpolation=cv2.INTER_AREA)
        index = len(self._thumbnails)
        thumbnail = grid_thumbnail(frame)
        linear = SRGB_TO_LINEAR[thumbnail]
        self._thumbnails.append(thumbnail)
        if self._previous is not None:
            change = _luminance_change(self._previous, linear)
            self._change.append(change)
            if change > SCENE_CHANGE:
                self._keep_cut(index, change, frame)
        self._previous = linear
        if self._is_sampled(index):
            self._sampled[index] = self._kept(frame)
        self._last = frame

    def finish(
        self, audio: np.ndarray | None = None, sample_rate: int | None = None
    ) -> SampledClip:
        """The sampled clip: regular samples (`sample_times`) and the sharpest cuts."""
        count = len(self._thumbnails)
        indices, _ = sample_times(count, self.fps, self.sample_fps)
        cuts = scene_cuts(np.array(self._change, dtype=np.float64))
        if len(cuts):
            indices = np.union1d(indices, cuts)
        frames = [self._frame(int(i), count) for i in indices]
        height, width = self._shape[:2] if self._shape else (0, 0)
        if self._reduced:
            width, height = self._reduced
        stacked = np.stack(frames) if frames else np.empty((0, height, width, 3), np.uint8)
        self._sampled.clear()
        self._cuts.clear()
        self._last = None
        grid = (
            SRGB_TO_LINEAR[np.stack(self._thumbnails)]
            if count
            else np.empty((0, 0, 0, 3), np.float32)
        )
        return SampledClip(
            self.fps, count, grid, indices, stacked, self.sample_fps, audio, sample_rate
        )

    def _is_sampled(self, index: int) -> bool:
        if not self.sample_fps > 0:
            return index == 0  # one sample: the first frame
        while not len(self._wanted) or index > self._wanted[-1]:
            # The regular samples of a longer clip extend those of a shorter one.
            horizon = max(64, 2 * (index + 1))
            self._wanted = sample_times(horizon, self.fps, self.sample_fps)[0][:-1]
        return bool(np.isin(index, self._wanted))

    def _keep_cut(self, index: int, change: float, frame: np.ndarray) -> None:
        self._cuts[index] = (change, self._kept(frame))
        if len(self._cuts) > MAX_CUTS:
            weakest = min(self._cuts, key=lambda i: (self._cuts[i][0], -i))
            del self._cuts[weakest]

    def _frame(self, index: int, count: int) -> np.ndarray:
        if index in self._sampled:
            return self._sampled[index]
        if index in self._cuts:
            return self._cuts[index][1]
        if index == count - 1 and self._last is not None:
            return self._kept(self._last)
        raise AssertionError(f"frame {index} was sampled but not kept")

    def _kept(self, frame: np.ndarray) -> np.ndarray:
        """The frame as held for the classifiers: itself while the full-resolution ones fit."""
        if self._reduced is None:
            held = (len(self._sampled) + len(self._cuts) + 1) * frame.nbytes
            if held <= FULL_RESOLUTION_BYTES:
                return frame
            h, w = frame.shape[:2]
            scale = min(1.0, math.sqrt(REDUCED_PIXELS / (h * w)))
            self._reduced = (max(1, round(w * scale)), max(1, round(h * scale)))
            self._sampled = {i: self._reduce(f) for i, f in self._sampled.items()}
            self._cuts = {i: (c, self._reduce(f)) for i, (c, f) in self._cuts.items()}
        return self._reduce(frame)

    def _reduce(self, frame: np.ndarray) -> np.ndarray:
        if self._reduced is None or frame.shape[1::-1] == self._reduced:
            return frame
        return cv2.resize(frame, self._reduced, interpolation=cv2.INTER_AREA)
