"""The watermark under the edits that move a fingerprint: colour changes, overlays, crops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from provenance.watermark import GRID_H, GRID_W
from provenance.watermark_detect import detect_watermark, search_template
from provenance.watermark_search import (
    MIN_SCALE,
    MIN_SCORE,
    REFRAME_KEEPS,
    REFRAME_SCALE,
    placements,
    scale_pairs,
)
from provenance.watermark_stats import mean_luma
from tests.support.clip_edits import brighten, contrast, crop_every_side, cut_sides, overlay_logo
from tests.support.photo_clips import animate, decode, encode, photo, published_clip

CLIP_ID = 0x5EED_0003


@pytest.fixture(scope="module")
def published() -> np.ndarray:
    return published_clip(CLIP_ID)


_Edit = tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]
EDITS: dict[str, _Edit] = {
    "brightness +40, CRF 28": (lambda f: brighten(f, 40), {"crf": 28}),
    "brightness -40, CRF 28": (lambda f: brighten(f, -40), {"crf": 28}),
    "contrast x0.6, CRF 28": (lambda f: contrast(f, 0.6), {"crf": 28}),
    "contrast x1.4, CRF 28": (lambda f: contrast(f, 1.4), {"crf": 28}),
    "contrast x1.6, CRF 28": (lambda f: contrast(f, 1.6), {"crf": 28}),
    "logo overlay, CRF 28": (overlay_logo, {"crf": 28}),
    "crop 5 %/side, CRF 23": (lambda f: crop_every_side(f, 0.05), {"crf": 23}),
    "crop 10 %/side, CRF 23": (lambda f: crop_every_side(f, 0.10), {"crf": 23}),
    "crop 14 %/side, CRF 23": (lambda f: crop_every_side(f, 0.14), {"crf": 23}),
    # At CRF 28 this small (480 x 270, 2 s) clip's cropped mark is at the search's noise floor.
    "crop 8 %/side, 320x180 CRF 23": (
        lambda f: crop_every_side(f, 0.08),
        {"crf": 23, "size": (320, 180)},
    ),
    # Kept at their own size: the copy's aspect tells the search which scales to try.
    "cut left 12 %, CRF 23": (lambda f: cut_sides(f, 0.12, 0), {"crf": 23}),
    "cut left and top 10 %, CRF 23": (lambda f: cut_sides(f, 0.1, 0.1), {"crf": 23}),
    "cut right 6 % and bottom 15 %, CRF 23": (
        lambda f: cut_sides(f, 0, 0, right=0.06, bottom=0.15),
        {"crf": 23},
    ),
    "reframe 16:9 to a centred square, CRF 23": (
        lambda f: cut_sides(f, 0.21875, 0, right=0.21875),
        {"crf": 23},
    ),
    "cut 2/8/10/0 % (left/top/right/bottom), CRF 23": (
        lambda f: cut_sides(f, 0.02, 0.08, right=0.1),
        {"crf": 23},
    ),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_watermark_survives_the_edit_then_a_reencode(published: np.ndarray, edit: _Edit) -> None:
    change, options = edit
    copy = decode(encode(change(published), **options))
    assert detect_watermark(copy).clip_id == CLIP_ID


def test_crop_search_places_a_cropped_copy_within_an_eighth_of_a_cell(
    published: np.ndarray,
) -> None:
    copy = decode(encode(cut_sides(published, 0.1, 0.04, right=0.02), crf=23))
    width, height = published.shape[2], published.shape[1]
    left, top = int(0.1 * width) / width, int(0.04 * height) / height
    truth = (left, copy.shape[2] / width, top, copy.shape[1] / height)
    found = placements(mean_luma(copy), search_template(), copy.shape[2] / copy.shape[1])
    # Well clear of the decode threshold (unmarked crops peak near 4.2; this copy scores ~10.7
    # with a one-thread encode, whose bytes are the same on every run).
    assert found and found[0].score > 1.5 * MIN_SCORE
    cell = (1 / GRID_W, 1 / GRID_H)
    left_error, width_error = found[0].geometry[0] - truth[0], found[0].geometry[1] - truth[1]
    top_error, height_error = found[0].geometry[2] - truth[2], found[0].geometry[3] - truth[3]
    # Both ends of each axis land within an eighth of a cell of where the copy really sits.
    assert max(abs(left_error), abs(left_error + width_error)) < cell[0] / 8
    assert max(abs(top_error), abs(top_error + height_error)) < cell[1] / 8


def test_crop_search_finds_nothing_worth_decoding_in_unmarked_crops() -> None:
    for seed in (7, 8):
        frames = decode(encode(cut_sides(animate(photo(seed)), 0.08, 0.1), crf=23))
        luma = mean_luma(frames)
        assert placements(luma, search_template(), frames.shape[2] / frames.shape[1]) == []


def test_scale_pairs_follow_the_copys_aspect() -> None:
    # A 16:9 frame cut at the top only is wider than 16:9: (all its width, part of its height).
    assert (1.0, 0.8) in {(sx, round(sy, 6)) for sx, sy in scale_pairs(16 / 9 / 0.8)}
    # Without the aspect, one axis cut and stretched back is tried instead.
    assert (1.0, 0.8) in {(sx, round(sy, 6)) for sx, sy in scale_pairs(None)}
    assert all(min(pair) >= MIN_SCALE - 1e-6 for pair in scale_pairs(None))
    # A square copy of a 16:9 original: all its height, 9/16 of its width.
    assert (0.5625, 1.0) in {(round(sx, 6), round(sy, 6)) for sx, sy in scale_pairs(1.0)}
    for sx, sy in scale_pairs(0.5):
        assert max(sx, sy) <= 1 + 1e-9
        reframe = min(sx, sy) >= REFRAME_SCALE - 1e-6 and max(sx, sy) >= REFRAME_KEEPS - 1e-6
        assert min(sx, sy) >= MIN_SCALE - 1e-6 or reframe
