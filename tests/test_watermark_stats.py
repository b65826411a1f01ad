"""The statistics a watermark reader keeps: their size follows the copy's shape."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.watermark_stats import LumaStats


@pytest.mark.parametrize(
    ("width", "height", "kept"),
    [
        (1280, 720, (360, 640)),
        # A 4:3 copy keeps square pixels: its letterboxed picture keeps 360 lines, not 270.
        (960, 720, (480, 640)),
        (1680, 720, (360, 640)),  # wider than 16:9: as before
        (720, 1280, (480, 640)),  # taller than 4:3: no taller than a 4:3 copy's
    ],
)
def test_a_copys_statistics_keep_its_shape(width: int, height: int, kept: tuple) -> None:
    stats = LumaStats()
    stats.add(np.full((height, width, 3), 90, np.uint8))
    assert stats.total.shape == stats.low.shape == stats.high.shape == kept
    assert stats.aspect == pytest.approx(width / height)


def test_a_stream_that_changes_its_frame_size_is_counted_at_its_first_size() -> None:
    stats = LumaStats()
    stats.add(np.full((720, 960, 3), 80, np.uint8))
    stats.add(np.full((720, 1280, 3), 120, np.uint8))
    assert stats.total.shape == (480, 640)
    assert stats.frames == 2
    assert float(stats.total.mean()) / stats.frames == pytest.approx(100, abs=1)


def test_the_statistics_keep_how_much_of_each_pixel_clipped_at_black_or_white() -> None:
    # A contrast boost clips channels one by one: the reader needs each channel's share of the
    # luma that sat at black (negative) or white (positive) to put it back.
    frame = np.full((360, 640, 3), 120, np.uint8)
    frame[:, :160] = 0
    frame[:, 160:320] = 255
    frame[:, 320:480, 2] = 1  # only the blue channel at black
    stats = LumaStats()
    stats.add(frame)
    stats.add(frame)
    balance = stats.balance / stats.frames
    assert balance[:, :160] == pytest.approx(-1.0)
    assert balance[:, 160:320] == pytest.approx(1.0)
    assert balance[:, 320:480] == pytest.approx(-0.114)
    assert balance[:, 480:] == pytest.approx(0.0)
