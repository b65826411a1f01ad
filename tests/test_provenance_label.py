"""The visible "AI-generated" label: in the corner only, legible on white and on black frames."""

from __future__ import annotations

import time

import numpy as np
import pytest

from provenance.label import burn_label, render_label


def _luminance(value: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB grey levels."""
    c = value.astype(np.float64) / 255.0
    return np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _contrast(frame: np.ndarray, height: int, width: int) -> float:
    """Contrast ratio between the label's text and its box, measured on the labelled frame."""
    patch = render_label(height, width)
    region = frame[patch.top : patch.top + patch.height, patch.left : patch.left + patch.width]
    keep = patch.keep[..., 0].astype(int)
    text = keep <= keep.min() + 8  # the most covered pixels: the core of the glyphs
    box = keep == keep.max()  # box only, no text
    assert text.any() and box.any()
    light = _luminance(region[text].mean(axis=0)).mean()
    dark = _luminance(region[box].mean(axis=0)).mean()
    return float((max(light, dark) + 0.05) / (min(light, dark) + 0.05))


def test_label_changes_only_the_corner() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 96, 160, 3), dtype=np.uint8)
    before = frames.copy()
    burn_label(frames)
    patch = render_label(96, 160)
    changed = np.any(frames != before, axis=(0, 3))
    rows, cols = np.nonzero(changed)
    assert rows.min() >= patch.top and rows.max() < patch.top + patch.height
    assert cols.min() >= patch.left and cols.max() < patch.left + patch.width
    assert rows.min() > 96 // 2 and cols.min() > 160 // 2  # bottom-right corner
    corner = (
        slice(None),
        slice(patch.top, patch.top + patch.height),
        slice(patch.left, patch.left + patch.width),
    )
    assert np.abs(frames[corner].astype(int) - before[corner]).mean() > 30  # visibly different
    outside = np.ones((96, 160), bool)
    outside[corner[1], corner[2]] = False
    assert np.array_equal(frames[:, outside], before[:, outside])


@pytest.mark.parametrize("level", [255, 0], ids=["white", "black"])
def test_label_is_legible_on_plain_white_and_black_frames(level: int) -> None:
    for height, width in [(96, 160), (720, 1280)]:
        frames = np.full((1, height, width, 3), level, np.uint8)
        burn_label(frames)
        assert _contrast(frames[0], height, width) >= 4.5  # WCAG AA for normal text


def test_label_scales_with_frame_height() -> None:
    small, large = render_label(96, 160), render_label(720, 1280)
    assert large.height > 4 * small.height
    assert 0.05 < large.height / 720 < 0.15


def test_label_can_go_in_another_corner() -> None:
    patch = render_label(96, 160, corner="top-left")
    assert patch.top < 10 and patch.left < 10
    with pytest.raises(ValueError):
        render_label(96, 160, corner="middle")  # type: ignore[arg-type]


def test_label_rejects_frames_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        burn_label(np.zeros((96, 160, 3), np.uint8))


def test_labelling_touches_only_the_patch_so_it_is_fast() -> None:
    frames = np.full((24, 720, 1280, 3), 128, np.uint8)  # full, not zeros: pages already mapped
    burn_label(frames[:1])
    started = time.perf_counter()
    burn_label(frames)
    # 24 frames; 120 frames measure ~6 ms on 2 cores. Generous bound for a shared machine.
    assert time.perf_counter() - started < 0.25
