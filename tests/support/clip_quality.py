"""Quality measures for generated clips: where motion goes (with the camera's part and without it),
flicker, loop seams, loudness and clicks.

Shared by the quality tests and bench/generation_eval.py, so both judge a clip the same way. Every
measure takes the frames and audio of a Clip and masks built from the Scene the generator saw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from generation.loudness import integrated_loudness
from generation.scene import Scene

MIN_REGION_FRACTION = 0.01  # a measured region smaller than this share of the frame is left out
FLOW_BORDER_PX = 32  # frames are mirrored outward this far before optical flow (see _pair_flows)
CAMERA_FIT_STEP_PX = 8  # the camera is fitted to the flow at every 8th pixel of the still regions
CAMERA_FIT_MIN_POINTS = 20  # fewer points than this: no fit (a similarity has 4 unknowns)


@dataclass(frozen=True)
class RegionMasks:
    """Boolean masks at frame size: the inside of each animated region (eroded clear of its
    feathered border), and what no region animates (the frame less every region, widened)."""

    sky: np.ndarray
    water: np.ndarray
    foliage: np.ndarray
    still: np.ndarray

    def measurable(self, name: str) -> bool:
        mask: np.ndarray = getattr(self, name)
        return bool(mask.mean() >= MIN_REGION_FRACTION)


def region_masks(scene: Scene, width: int, height: int) -> RegionMasks:
    """Masks for measuring a clip made from `scene` at width x height."""
    scale = math.sqrt(width * height) / math.sqrt(1280 * 720)

    def binary(name: str) -> np.ndarray:
        return (scene.mask(name, width, height, feather_px=0.0) > 0.5).astype(np.uint8)

    def disc(radius: float) -> np.ndarray:
        k = 2 * max(1, round(radius)) + 1
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))

    inside = {
        name: cv2.erode(binary(name), disc(12 * scale)).astype(bool)
        for name in ("sky", "water", "foliage")
    }
    animated = binary("sky") | binary("water") | binary("foliage")
    still = ~cv2.dilate(animated, disc(24 * scale)).astype(bool)
    return RegionMasks(still=still, **inside)


def _grey(frames: np.ndarray) -> list[np.ndarray]:
    return [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]


def _pair_flows(frames: np.ndarray) -> Iterator[np.ndarray]:
    """Farneback optical flow (pixels, x then y) between each pair of consecutive grey frames."""
    # OpenCV's Farneback misreads the frame's border: on a bright edge there (a road marking at
    # the bottom) it reports several pixels of flow between two *identical* frames. The frames are
    # mirrored outward first and the flow cropped back, which removes that bias.
    pad = FLOW_BORDER_PX
    grey = [cv2.copyMakeBorder(g, pad, pad, pad, pad, cv2.BORDER_REFLECT101) for g in _grey(frames)]
    flow = np.zeros((*grey[0].shape, 2), np.float32)  # written over for each pair
    for a, b in itertools.pairwise(grey):
        flow = cv2.calcOpticalFlowFarneback(a, b, flow, 0.5, 3, 15, 3, 5, 1.2, 0)
        yield flow[pad:-pad, pad:-pad]


def mean_flow(frames: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean optical-flow magnitude (pixels per frame, Farneback on grey consecutive frames)
    inside each named boolean mask, over all frame pairs; one flow field serves every mask."""
    totals = dict.fromkeys(masks, 0.0)
    for flow in _pair_flows(frames):
        magnitude = cv2.magnitude(flow[..., 0], flow[..., 1])
        for name, mean in region_means(magnitude, masks).items():
            totals[name] += mean
    pairs = max(1, len(frames) - 1)
    return {name: total / pairs for name, total in totals.items()}


def camera_flow(flow: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The part of a flow field that the camera explains: a similarity transform (shift, turn,
    zoom) fitted to the flow inside `reference` (what nothing animates), evaluated everywhere.

    Least median of squares, so up to half the reference may move on its own (a missed patch of
    water) without bending the fit; zero where too few reference points are left to fit."""
    height, width = flow.shape[:2]
    step = CAMERA_FIT_STEP_PX
    ys, xs = np.nonzero(reference[::step, ::step])
    ys, xs = ys * step, xs * step
    if len(xs) < CAMERA_FIT_MIN_POINTS:
        return np.zeros_like(flow)
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    matrix, _inliers = cv2.estimateAffinePartial2D(points, points + flow[ys, xs], method=cv2.LMEDS)
    if matrix is None:
        return np.zeros_like(flow)
    grid_x, grid_y = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    (a, b, shift_x), (c, d, shift_y) = matrix.astype(np.float32)
    moved_x = (a - 1) * grid_x + b * grid_y + shift_x
    moved_y = c * grid_x + (d - 1) * grid_y + shift_y
    return np.stack([moved_x, moved_y], axis=2)


@dataclass(frozen=True)
class MotionMaps:
    """Mean optical-flow magnitude at each pixel over a clip (pixels per frame): as measured, and
    with the camera's motion taken out (what moved on its own: drifting sky, rolling water)."""

    measured: np.ndarray
    residual: np.ndarray


def motion_maps(frames: np.ndarray, reference: np.ndarray) -> MotionMaps:
    """Both motion maps of a clip from one flow pass; the camera is fitted to `reference` (the
    still regions), or to the whole frame where those are too small to fit to (an all-sky photo)."""
    if reference.mean() < MIN_REGION_FRACTION:
        reference = np.ones_like(reference)
    measured = np.zeros(frames.shape[1:3], np.float64)
    residual = np.zeros_like(measured)
    for flow in _pair_flows(frames):
        measured += cv2.magnitude(flow[..., 0], flow[..., 1])
        own = flow - camera_flow(flow, reference)
        residual += cv2.magnitude(own[..., 0], own[..., 1])
    pairs = max(1, len(frames) - 1)
    return MotionMaps(measured=measured / pairs, residual=residual / pairs)


def region_means(motion: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float]:
    """The mean of a motion map inside each named boolean mask (0 for an empty mask)."""
    return {name: float(motion[mask].mean()) if mask.any() else 0.0 for name, mask in masks.items()}


def luminance_steps(frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Frame-to-frame change of the mean luminance (grey levels) inside a mask: flicker."""
    means = np.array([float(g[mask].mean()) for g in _grey(frames)])
    return np.abs(np.diff(means))


def frame_steps(frames: np.ndarray) -> np.ndarray:
    """Mean absolute pixel change (grey levels) between consecutive frames."""
    f = frames.astype(np.int16)
    return np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))


def loop_seam(frames: np.ndarray) -> float:
    """Mean absolute pixel change from the last frame back to the first: a looping clip's seam."""
    return float(np.abs(frames[-1].astype(np.int16) - frames[0].astype(np.int16)).mean())


def clipped_samples(audio: np.ndarray) -> int:
    """Samples at or beyond full scale (what a player would clip)."""
    return int((np.abs(audio) >= 1.0).sum())


def loop_click(audio: np.ndarray) -> float:
    """The jump from the last sample back to the first, over the 99.9th percentile of ordinary
    sample-to-sample steps: above 1 a listener hears a click where the loop restarts."""
    jump = float(np.abs(audio[:, 0] - audio[:, -1]).max())
    typical = float(np.percentile(np.abs(np.diff(audio, axis=1)), 99.9))
    return jump / max(typical, 1e-9)


def loudness_error(audio: np.ndarray, target_lufs: float) -> float:
    """Integrated loudness minus the target, in LU."""
    return integrated_loudness(audio) - target_lufs
