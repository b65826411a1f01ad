"""Quality measures for generated clips: where motion goes, flicker, loop seams, loudness and clicks.

Shared by the quality tests and bench/generation_eval.py, so both judge a clip the same way. Every
measure takes the frames and audio of a Clip and masks built from the Scene the generator saw.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from generation.loudness import integrated_loudness
from generation.scene import Scene

MIN_REGION_FRACTION = 0.01  # a measured region smaller than this share of the frame is left out
FLOW_BORDER_PX = 32  # frames are mirrored outward this far before optical flow (see mean_flow)


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


def mean_flow(frames: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean optical-flow magnitude (pixels per frame, Farneback on grey consecutive frames)
    inside each named boolean mask, over all frame pairs; one flow field serves every mask."""
    totals = dict.fromkeys(masks, 0.0)
    # OpenCV's Farneback misreads the frame's border: on a bright edge there (a road marking at
    # the bottom) it reports several pixels of flow between two *identical* frames. The frames are
    # mirrored outward first and the flow cropped back, which removes that bias.
    pad = FLOW_BORDER_PX
    grey = [cv2.copyMakeBorder(g, pad, pad, pad, pad, cv2.BORDER_REFLECT101) for g in _grey(frames)]
    flow = np.zeros((*grey[0].shape, 2), np.float32)  # written over for each pair
    for a, b in itertools.pairwise(grey):
        flow = cv2.calcOpticalFlowFarneback(a, b, flow, 0.5, 3, 15, 3, 5, 1.2, 0)
        inner = flow[pad:-pad, pad:-pad]
        magnitude = cv2.magnitude(inner[..., 0], inner[..., 1])
        for name, mask in masks.items():
            totals[name] += float(magnitude[mask].mean()) if mask.any() else 0.0
    pairs = max(1, len(grey) - 1)
    return {name: total / pairs for name, total in totals.items()}


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
