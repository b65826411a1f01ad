"""Photosensitive flash check (WCAG 2.3.1 "three flashes or below threshold", ITU-R BT.1702 style).

Method, on frames downscaled to a small grid (flashes that matter are large, so detail is noise):

- Each cell's relative luminance (sRGB linearised, Rec. 709 weights) is followed over time with
  a hysteresis tracker: a *transition* is a swing of at least 0.1 (10 % of maximum relative
  luminance) from the last extreme, where the darker side is below 0.8. Two opposing transitions
  make one flash, so a cell's flash count in a window is its transitions / 2.
- Red flashes use the WCAG "saturated red" measure: (R - G - B) x 320 on linear values where
  R / (R + G + B) >= 0.8 (else 0); a transition is a swing of more than 20 in that measure.
- For every 1 s window (every start frame), the flash count that a large enough *area* reached is
  the largest n such that cells with >= n flashes cover more than `area_fraction` (25 %) of some
  10-degree visual field. WCAG sizes that field as 341 x 256 px on a 1024 x 768 screen, i.e. a
  third of the frame's width and height; we use that proportion of the frame.
- The worst window decides. Score = 1.0 when it has more than 3 flashes (the WCAG failure),
  otherwise flashes / 4, so 3 flashes (the most allowed) scores 0.75.
"""

from __future__ import annotations

import cv2
import numpy as np

from safety.signals import Signal

MODEL = "flash-wcag2.3.1@1"
GRID = (64, 36)  # width, height of the analysis grid
MAX_FLASHES = 3  # more than this in any 1 s window fails
LUMINANCE_STEP = 0.1
DARK_LIMIT = 0.8
RED_STEP = 20.0

SRGB_TO_LINEAR = np.where(
    (v := np.arange(256) / 255.0) <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4
).astype(np.float32)


def linear_thumbnails(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, gh, gw, 3) linear float32 (`grid_thumbnail` of each frame)."""
    t, h, w, _ = frames.shape
    small = np.empty((t, min(GRID[1], h), min(GRID[0], w), 3), dtype=np.uint8)
    for i in range(t):
        small[i] = grid_thumbnail(frames[i])
    return SRGB_TO_LINEAR[small]


def grid_thumbnail(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (gh, gw, 3) uint8 on the analysis grid.

    Nearest-neighbour decimation to 4x the grid, then area averaging: flashing areas that matter
    are far larger than the decimation step, and this costs ~0.2 ms per 720p frame.
    """
    h, w = frame.shape[:2]
    gw, gh = min(GRID[0], w), min(GRID[1], h)
    mid = (min(w, gw * 4), min(h, gh * 4))
    frame = np.ascontiguousarray(frame)
    if (w, h) != mid:
        frame = cv2.resize(frame, mid, interpolation=cv2.INTER_NEAREST)
    return cv2.resize(frame, (gw, gh), interpolation=cv2.INTER_AREA)


def _transitions(series: np.ndarray, step: float, dark_limit: float | None) -> np.ndarray:
    """(T, N) values -> (T, N) 1 where a cell completes a qualifying swing at that frame.

    A hysteresis (zig-zag) tracker per cell: after a rise it follows the peak until the value
    falls `step` below it, after a fall it follows the trough; jitter smaller than `step` never
    counts. With `dark_limit`, a swing counts only if its darker end is below the limit.
    """
    t, n = series.shape
    out = np.zeros((t, n), dtype=np.int16)
    # Cells whose whole range is under one step can never swing: skip them.
    active = np.flatnonzero(series.max(axis=0) - series.min(axis=0) >= step)
    if len(active) == 0:
        return out
    if len(active) < n:
        out[:, active] = _transitions(series[:, active], step, dark_limit)
        return out
    low = series[0].copy()
    high = series[0].copy()
    direction = np.zeros(n, dtype=np.int8)  # +1 after a rise, -1 after a fall, 0 before any
    for i in range(1, t):
        v = series[i]
        high = np.where(direction >= 0, np.maximum(high, v), high)
        low = np.where(direction <= 0, np.minimum(low, v), low)
        rise = (direction <= 0) & (v - low >= step)
        fall = (direction >= 0) & (high - v >= step)
        both = rise & fall  # only before the first swing: keep the larger one
        rise &= ~both | (v - low >= high - v)
        fall &= ~rise
        if dark_limit is not None:
            rise &= low < dark_limit
            fall &= v < dark_limit
        out[i] = rise | fall
        high = np.where(rise, v, high)
        low = np.where(fall, v, low)
        direction = np.where(rise, 1, np.where(fall, -1, direction)).astype(np.int8)
    return out


def _worst_window(
    events: np.ndarray, grid: tuple[int, int], window: int, area_fraction: float
) -> tuple[float, int]:
    """Largest flash count reached over the area threshold in any window, and its start frame."""
    t = events.shape[0]
    gh, gw = grid
    if t < 2:
        return 0.0, 0
    window = min(window, t)
    cumulative = np.concatenate([np.zeros((1, events.shape[1]), np.int32), events.cumsum(0)])
    counts = (cumulative[window:] - cumulative[:-window]).reshape(-1, gh, gw)  # (W, gh, gw)
    fh, fw = max(1, round(gh / 3)), max(1, round(gw / 3))
    needed = area_fraction * fh * fw

    def qualifying_windows(level: int) -> np.ndarray:
        mask = (counts >= level).astype(np.int32)
        integral = np.pad(mask.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
        boxes = (
            integral[:, fh:, fw:]
            - integral[:, :-fh, fw:]
            - integral[:, fh:, :-fw]
            + integral[:, :-fh, :-fw]
        )
        return np.flatnonzero(boxes.reshape(len(boxes), -1).max(1) > needed)

    # Qualifying is monotone in the level (n flashes over the area implies n - 1): bisect.
    best, best_start = 0, 0
    lo, hi = 1, int(counts.max(initial=0))
    while lo <= hi:
        mid = (lo + hi) // 2
        hits = qualifying_windows(mid)
        if len(hits):
            best, best_start, lo = mid, int(hits[0]), mid + 1
        else:
            hi = mid - 1
    return best / 2.0, best_start


def _signal(category: str, flashes: float, start: int, window: int, fps: float, t: int) -> Signal:
    start_s = start / fps
    end_s = min(start + window, t) / fps
    score = 1.0 if flashes > MAX_FLASHES else flashes / (MAX_FLASHES + 1)
    kind = "red flashes" if category == "flash.red" else "flashes"
    verdict = "over" if flashes > MAX_FLASHES else "within"
    return Signal.spanning(
        category,
        score,
        MODEL,
        start_s,
        end_s,
        f"worst 1 s window {start_s:.2f}-{end_s:.2f} s: {flashes:g} {kind} "
        f"({verdict} the limit of {MAX_FLASHES})",
    )


def validated_frames(frames: np.ndarray, fps: float) -> np.ndarray:
    """The frames as a (T, H, W, 3) uint8 array, or ValueError saying what is wrong."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3) RGB, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (0-255), got {frames.dtype}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return frames


def flash_check(frames: np.ndarray, fps: float, *, area_fraction: float = 0.25) -> list[Signal]:
    """General and red flash counts in the worst 1 s window of an RGB uint8 clip (T, H, W, 3)."""
    frames = validated_frames(frames, fps)
    t = len(frames)
    if t == 0:
        return [
            Signal(c, 0.0, MODEL, evaluated=False, detail="no frames to check")
            for c in ("flash.general", "flash.red")
        ]
    return flash_check_thumbnails(linear_thumbnails(frames), fps, area_fraction=area_fraction)


def flash_check_thumbnails(
    linear: np.ndarray, fps: float, *, area_fraction: float = 0.25
) -> list[Signal]:
    """`flash_check` on thumbnails from `linear_thumbnails` (shared with other clip checks)."""
    t, gh, gw = linear.shape[:3]
    r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
    luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b).reshape(t, -1)
    total = r + g + b
    saturated = r >= 0.8 * np.maximum(total, 1e-6)
    red = (np.where(saturated, np.maximum(r - g - b, 0.0), 0.0) * 320.0).reshape(t, -1)
    window = max(1, round(fps))
    general = _worst_window(
        _transitions(luminance, LUMINANCE_STEP, DARK_LIMIT), (gh, gw), window, area_fraction
    )
    reds = _worst_window(_transitions(red, RED_STEP, None), (gh, gw), window, area_fraction)
    return [
        _signal("flash.general", general[0], general[1], window, fps, t),
        _signal("flash.red", reds[0], reds[1], window, fps, t),
    ]
