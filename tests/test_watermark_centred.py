"""The centred-zoom scan: copies that keep the original's centre are placed to a fraction of a cell."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.watermark_centred import (
    CENTRED_MIN_SCORE,
    MIN_ZOOM,
    ZOOM_STEP,
    centred_placements,
    zoom_shares,
)
from provenance.watermark_detect import search_template
from provenance.watermark_stats import stats_frame
from tests.support.clip_edits import crop_every_side
from tests.support.photo_clips import animate, decode, encode, photo, published_clip

CLIP_ID = 0x5EED_0C14


@pytest.fixture(scope="module")
def published() -> np.ndarray:
    return published_clip(CLIP_ID)


def _mean(frames: np.ndarray) -> np.ndarray:
    return np.mean([stats_frame(frame).luma for frame in frames], axis=0)


def test_zoom_shares_follow_the_original_and_the_copys_aspect() -> None:
    same = zoom_shares(16 / 9, (16 / 9,))
    assert np.allclose(same[:, 0], same[:, 1])
    assert same[0, 0] == pytest.approx(1.0) and same[-1, 0] == pytest.approx(MIN_ZOOM)
    assert np.allclose(-np.diff(same[:, 0]), ZOOM_STEP)
    # A 16:9 original letterboxed into 4:3 shows all its width and 4/3 of its height in the copy;
    # pillarboxed into 21:9, all its height and 21/16 of its width.
    boxed = {tuple(np.round(row, 4)) for row in zoom_shares(4 / 3, (16 / 9,))}
    assert (1.0, round(4 / 3, 4)) in boxed
    wide = {tuple(np.round(row, 4)) for row in zoom_shares(21 / 9, (16 / 9,))}
    assert (round(21 / 16, 4), 1.0) in wide


def test_centred_scan_places_an_evenly_cropped_copy_to_a_fraction_of_its_zoom(
    published: np.ndarray,
) -> None:
    copy = decode(encode(crop_every_side(published, 0.12), crf=23))
    height, width = published.shape[1:3]
    truth = 1 - 2 * int(0.12 * width) / width, 1 - 2 * int(0.12 * height) / height
    found = centred_placements(
        _mean(copy), search_template(), zoom_shares(16 / 9, (16 / 9,)), limit=1
    )
    assert found and found[0].score > 1.5 * CENTRED_MIN_SCORE
    _, shown_w, _, shown_h = found[0].geometry
    # The crop search's step is 1 % of scale; the scan lands within two of its own 0.2 % steps.
    assert abs(shown_w - truth[0]) <= 2 * ZOOM_STEP and abs(shown_h - truth[1]) <= 2 * ZOOM_STEP


def test_centred_scan_finds_nothing_worth_decoding_in_unmarked_copies() -> None:
    for seed in (7, 8):
        copy = decode(encode(crop_every_side(animate(photo(seed)), 0.1), crf=23))
        shares = zoom_shares(16 / 9, (16 / 9, 4 / 3))
        assert centred_placements(_mean(copy), search_template(), shares, limit=3) == []
