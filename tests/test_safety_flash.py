"""Photosensitive flash check against the WCAG 2.3.1 rule (more than 3 flashes in any second)."""

from __future__ import annotations

import numpy as np
import pytest

from safety.flash import flash_check

FPS = 24.0
SIZE = (144, 256)  # small frames keep the suite fast; the check works on a fixed grid anyway


def _clip(
    rate_hz: float,
    *,
    on: tuple[int, int, int] = (255, 255, 255),
    off: tuple[int, int, int] = (0, 0, 0),
    area: tuple[int, int] | None = None,
    seconds: float = 3.0,
) -> np.ndarray:
    """A clip switching between two colours `rate_hz` times a second (one flash = on + off)."""
    n = int(seconds * FPS)
    frames = np.zeros((n, *SIZE, 3), dtype=np.uint8)
    frames[:] = off
    for i in range(n):
        if int(i * rate_hz * 2 / FPS) % 2:
            h, w = area or SIZE
            frames[i, :h, :w] = on
    return frames


def _by_category(frames: np.ndarray) -> dict[str, object]:
    return {s.category: s for s in flash_check(frames, FPS)}


def test_black_white_alternation_at_10_hz_fails() -> None:
    general = _by_category(_clip(10))["flash.general"]
    assert general.score == 1.0
    assert general.end_s - general.start_s == pytest.approx(1.0)
    assert "over the limit" in general.detail


def test_three_flashes_a_second_pass_and_four_fail() -> None:
    three = _by_category(_clip(3))["flash.general"]
    four = _by_category(_clip(4))["flash.general"]
    assert three.score == pytest.approx(0.75) and "3 flashes" in three.detail
    assert four.score == 1.0


def test_static_clip_passes() -> None:
    signals = _by_category(np.full((48, *SIZE, 3), 128, dtype=np.uint8))
    assert signals["flash.general"].score == 0.0 and signals["flash.red"].score == 0.0


def test_slow_fade_passes() -> None:
    levels = np.linspace(0, 255, 72).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (72, *SIZE, 3)).copy()
    assert _by_category(frames)["flash.general"].score <= 0.25


def test_small_flashing_area_below_threshold_passes() -> None:
    # 8 x 8 px of a 144 x 256 frame: well under 25 % of any tenth of the screen.
    assert _by_category(_clip(10, area=(8, 8)))["flash.general"].score < 1.0


def test_large_flashing_area_fails_even_when_not_full_screen() -> None:
    assert _by_category(_clip(10, area=(72, 128)))["flash.general"].score == 1.0


def test_saturated_red_flashes_are_counted_as_red() -> None:
    signals = _by_category(_clip(5, on=(255, 0, 0)))
    assert signals["flash.red"].score == 1.0 and "red flashes" in signals["flash.red"].detail


def test_white_flashes_are_not_red_flashes() -> None:
    assert _by_category(_clip(10))["flash.red"].score == 0.0


def test_worst_window_is_located_in_time() -> None:
    frames = np.zeros((96, *SIZE, 3), dtype=np.uint8)
    frames[48:72:2] = 255  # 12 flashes between 2 s and 3 s
    general = _by_category(frames)["flash.general"]
    assert general.score == 1.0 and 1.0 <= general.start_s <= 2.0 and general.end_s <= 3.1


def test_empty_clip_is_not_evaluated() -> None:
    signals = flash_check(np.zeros((0, *SIZE, 3), dtype=np.uint8), FPS)
    assert all(not s.evaluated for s in signals)


def test_odd_frame_sizes_and_grayscale_shape_errors() -> None:
    assert len(flash_check(np.zeros((10, 7, 5, 3), dtype=np.uint8), FPS)) == 2
    with pytest.raises(ValueError):
        flash_check(np.zeros((10, 7, 5), dtype=np.uint8), FPS)
