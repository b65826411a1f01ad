"""The residual-flow measure: what moves on its own once the camera's motion is taken out (the
motion figure of bench/generation_eval.py and its contact sheets)."""

import cv2
import numpy as np

from tests.support.clip_quality import mean_flow, motion_maps, region_means

SIZE = (160, 120)  # width, height
# the measure is read away from the frame's edge: there the flow of a panning camera meets the
# mirrored border that the flow is measured with, and reads short (a generated clip pans far less)
INTERIOR = np.zeros((SIZE[1], SIZE[0]), bool)
INTERIOR[16:-16, 16:-16] = True


def _texture(seed: int = 0) -> np.ndarray:
    """A smooth random texture at full contrast, twice the frame's size, that flow can follow."""
    noise = np.random.default_rng(seed).uniform(0, 255, (240, 320)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3)
    return cv2.normalize(smooth, None, 0, 255, cv2.NORM_MINMAX)


def _camera(texture: np.ndarray, k: int, shift: tuple[float, float], zoom: float) -> np.ndarray:
    """Frame k of a camera over the texture's middle that pans by `shift` (pixels) and zooms by
    `zoom` (a share) each frame."""
    matrix = cv2.getRotationMatrix2D((160, 120), 0.0, 1.0 + zoom * k)
    matrix[:, 2] += (shift[0] * k - 80, shift[1] * k - 60)
    return cv2.warpAffine(texture, matrix, SIZE, flags=cv2.INTER_CUBIC)


def _clip(frames: list[np.ndarray]) -> np.ndarray:
    grey = np.clip(np.stack(frames), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=3)


def _mean(motion: np.ndarray, mask: np.ndarray = INTERIOR) -> float:
    return region_means(motion, {"region": mask})["region"]


def test_a_clip_moved_only_by_the_camera_has_almost_no_residual_motion():
    texture = _texture()
    frames = _clip([_camera(texture, k, shift=(0.6, -0.4), zoom=0.004) for k in range(8)])
    maps = motion_maps(frames, INTERIOR)
    assert _mean(maps.measured) > 0.5, _mean(maps.measured)
    assert _mean(maps.residual) < 0.1 * _mean(maps.measured), _mean(maps.residual)
    # one flow pass measures the same motion as mean_flow
    assert abs(_mean(maps.measured) - mean_flow(frames, {"i": INTERIOR})["i"]) < 1e-3


def test_a_region_moving_on_its_own_shows_in_the_residual_and_the_camera_does_not():
    texture, water = _texture(0), _texture(1)
    strip = np.zeros((SIZE[1], SIZE[0]), bool)
    strip[70:110, 30:130] = True  # "water" whose texture flows right under the moving camera
    frames = []
    for k in range(8):
        frame = _camera(texture, k, shift=(0.5, 0.3), zoom=0.003)
        frame[strip] = _camera(water, k, shift=(2.0, 0.0), zoom=0.0)[strip]
        frames.append(frame)
    inside = np.zeros_like(strip)
    inside[78:102, 45:115] = True  # clear of the strip's edges, where the flow is smeared
    still = INTERIOR & ~cv2.dilate(strip.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    residual = motion_maps(_clip(frames), still).residual
    assert _mean(residual, inside) > 1.0, _mean(residual, inside)
    assert _mean(residual, still) < 0.15, _mean(residual, still)


def test_with_no_still_region_to_fit_to_the_camera_is_fitted_to_the_whole_frame():
    texture = _texture()
    frames = _clip([_camera(texture, k, shift=(0.8, 0.0), zoom=0.0) for k in range(6)])
    maps = motion_maps(frames, np.zeros((SIZE[1], SIZE[0]), bool))
    assert _mean(maps.residual) < 0.1 * _mean(maps.measured), _mean(maps.residual)
