"""Picture in picture: the original shown inside another moving picture is placed by its border."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from provenance.watermark import embed_watermark
from provenance.watermark_detect import detect_watermark
from provenance.watermark_inset import inset_windows
from provenance.watermark_stats import stats_frame
from tests.support.clip_edits import boxed, crop_every_side, inset, mirror, pad, rotate
from tests.support.photo_clips import animate, decode, encode, eval_photo, photo, published_clip

CLIP_ID = 0x5EED_1214


@pytest.fixture(scope="module")
def textured() -> np.ndarray:
    """A marked clip of a textured photo, whose mark the correlation search cannot place when
    shown inside another picture: its lattice fit is a tenth of a cell wide."""
    return published_clip(CLIP_ID, eval_photo("bike-riders.jpg"))


def _mean(frames: np.ndarray) -> np.ndarray:
    return np.mean([stats_frame(frame).luma for frame in frames], axis=0)


def _box(window: tuple[float, float, float, float], width: int, height: int) -> tuple[float, ...]:
    """A window (left, width, top, height of the original) back in the copy's pixels."""
    shown_left, shown_w, shown_top, shown_h = window
    return (
        -shown_left / shown_w * width,
        (1 - shown_left) / shown_w * width,
        -shown_top / shown_h * height,
        (1 - shown_top) / shown_h * height,
    )


@pytest.mark.parametrize(
    ("share", "x", "y"),
    # In the frame, then in its corners: an inset set flush with the frame's edge has no border
    # there (reaction videos put the original in a corner).
    [(0.5, 0.8, 0.3), (0.7, 0.15, 0.9), (0.6, 0.0, 1.0), (0.5, 1.0, 0.0), (0.6, 1.0, 1.0)],
)
def test_an_insets_border_is_found_to_a_fraction_of_a_pixel(
    share: float, x: float, y: float
) -> None:
    copy = decode(encode(inset(animate(photo(4)), share, x, y), crf=23))
    height, width = copy.shape[1:3]
    small_w, small_h = round(width * share) // 2 * 2, round(height * share) // 2 * 2
    left, top = round(x * (width - small_w)), round(y * (height - small_h))
    found = inset_windows(_mean(copy), (small_h / small_w,), limit=1)
    assert len(found) == 1
    box = _box(found[0].window, width, height)
    truth = (left, left + small_w, top, top + small_h)
    # Within a sixth of a pixel of the 640 x 360 statistics the mark is read from.
    assert np.allclose(box, truth, atol=width / 640 / 6), (box, truth)


@pytest.mark.parametrize(("share", "x", "y"), [(0.5, 0.8, 0.3), (0.7, 0.85, 0.35)])
def test_a_textured_clip_shown_inside_another_picture_is_read(
    textured: np.ndarray, share: float, x: float, y: float
) -> None:
    reading = detect_watermark(decode(encode(inset(textured, share, x, y), crf=18)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform == (
        f"shown inside another picture at {100 * share:.0f} % of its width",
    )


def test_a_clip_shown_in_a_corner_of_another_picture_is_read(textured: np.ndarray) -> None:
    # Flush with the frame's right and bottom edges: two of the inset's sides are the frame's.
    reading = detect_watermark(decode(encode(inset(textured, 0.6, 1.0, 1.0), crf=18)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform == ("shown inside another picture at 60 % of its width",)


def test_a_mirrored_clip_shown_inside_another_picture_is_read(textured: np.ndarray) -> None:
    # The border is the same rectangle either way: each mirror is undone on the found window.
    reading = detect_watermark(decode(encode(inset(mirror(textured), 0.6, 0.3, 0.7), crf=18)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform == (
        "mirrored left-right",
        "shown inside another picture at 60 % of its width",
    )


def test_a_turned_clip_shown_inside_another_picture_is_read(textured: np.ndarray) -> None:
    # The inset's border is upright; what it shows was turned 3 degrees (and zoomed to fill).
    # (This 480 x 270 clip's 288-pixel inset loses its mark at CRF 23; a 720p one's keeps it.)
    reading = detect_watermark(decode(encode(inset(rotate(textured, 3), 0.6, 0.4, 0.2), crf=18)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform[0] == "rotated 3° counter-clockwise"
    assert reading.transform[-1] == "shown inside another picture at 60 % of its width"


def test_a_cropped_clip_shown_inside_another_picture_is_read(textured: np.ndarray) -> None:
    copy = inset(crop_every_side(textured, 0.08), 0.6, 0.7, 0.6)
    reading = detect_watermark(decode(encode(copy, crf=18)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform[-1] == "shown inside another picture at 60 % of its width"


def test_a_letterboxed_clip_shown_inside_another_picture_is_read() -> None:
    # A dark clip letterboxed into 4:3, then shown inside another picture: its black bars and
    # its dark edges meet with little contrast. The inset is found by its outer, 4:3 border and
    # the bars inside it are cut as the whole frame's are, or (a 4:3 copy's statistics keep
    # square pixels) by the picture's own border inside the bars, which are then part of the
    # picture around it: either report is true.
    marked = published_clip(CLIP_ID, eval_photo("lake-summer-1am.jpg"))
    copy = decode(encode(inset(boxed(marked, 4 / 3), 0.6, 0.3, 0.7), crf=18))
    reading = detect_watermark(copy)
    assert reading.clip_id == CLIP_ID
    assert reading.transform[-1] == "shown inside another picture at 60 % of its width"
    assert reading.transform[:-1] in ((), ("letterboxed (bars above and below)",))


@pytest.mark.parametrize(
    ("padding", "x", "y"), [((4, 14, 20, 4), 0.7, 0.6), ((6, 20, 26, 2), 0.3, 0.3)]
)
def test_a_padded_clip_shown_inside_another_picture_is_read(
    textured: np.ndarray, padding: tuple[int, int, int, int], x: float, y: float
) -> None:
    # Padded unevenly in white, then shown at 60 %: the thin top and right bars (2-3 lines of
    # the statistics) blend into the inset's border, so only the other two are seen and cut.
    copy = decode(encode(inset(pad(textured, *padding, (255, 255, 255)), 0.6, x, y), crf=18))
    reading = detect_watermark(copy)
    assert reading.clip_id == CLIP_ID
    assert reading.transform == (
        "padded on all sides",
        "shown inside another picture at 60 % of its width",
    )


def test_a_letterbox_edge_inside_an_inset_does_not_make_a_flush_box_of_it() -> None:
    # The bars' inner edge, the inset's right and bottom sides and the frame's left edge make a
    # 4:3 box flush with the frame, as sharp as the inset itself: it must not be read first.
    # (At 720p, as the robustness bench found it: a 480 x 270 copy's inset is too small to read.)
    frames = animate(eval_photo("aquarium-silhouette.jpg", 1280, 720))
    embed_watermark(frames, CLIP_ID)
    marked = decode(encode(frames, crf=18))
    copy = decode(encode(inset(boxed(marked, 4 / 3), 0.6, 0.25, 0.55), crf=28))
    reading = detect_watermark(copy)
    assert reading.clip_id == CLIP_ID
    assert reading.transform[0].startswith("letterboxed")


def test_a_turned_inset_on_the_frames_diagonal_is_read() -> None:
    # Its top-left corner lies on the frame's diagonal, so the box from there to the frame's
    # bottom-right corner has the original's shape too, and ranks first: both are read inside.
    frames = animate(eval_photo("jetty-grey-mist.jpg", 1280, 720))
    embed_watermark(frames, CLIP_ID)
    marked = decode(encode(frames, crf=18))
    reading = detect_watermark(decode(encode(inset(rotate(marked, 3), 0.6, 0.9, 0.9), crf=28)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform[0] == "rotated 3° counter-clockwise"


def test_an_inset_whose_picture_has_straight_lines_of_its_own_is_read() -> None:
    # A forest stream's rocks and falls make boxes of two of the inset's sides and two of the
    # picture's own lines that outrank the inset by gradient; its sides stand out above the lines
    # beside them, theirs do not.
    frames = animate(eval_photo("forest-stream.jpg", 1280, 720))
    embed_watermark(frames, CLIP_ID)
    marked = decode(encode(frames, crf=18))
    reading = detect_watermark(decode(encode(inset(marked, 0.7, 0.3, 0.3), crf=28)))
    assert reading.clip_id == CLIP_ID
    assert reading.transform == ("shown inside another picture at 70 % of its width",)


def test_an_inset_on_a_flat_background_is_found() -> None:
    # Most of the frame is one flat colour (the median gradient is 0): the search must still see
    # the inset's border rather than score every rectangle 0.
    mean = np.full((360, 640), 50.0, np.float32)
    picture = cv2.cvtColor(photo(4, 352, 198), cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean[60:258, 200:552] = cv2.GaussianBlur(picture, (0, 0), 2)  # a moving picture's mean blurs
    found = inset_windows(mean, (198 / 352,), limit=2)
    assert found and np.allclose(_box(found[0].window, 640, 360), (200, 552, 60, 258), atol=0.5)


@pytest.mark.parametrize("strip", [2, 3])
def test_a_strong_edge_just_inside_an_inset_does_not_move_its_side(strip: int) -> None:
    # A dark strip along the inset's bottom (a bench clip's own dark shore): the strip's top edge,
    # inside, is stronger than the inset's bottom. The inset has the original's shape, so the
    # side that breaks it is the one to move.
    rng = np.random.default_rng(1)
    mean = cv2.GaussianBlur(rng.uniform(40, 90, (360, 640)).astype(np.float32), (0, 0), 3)
    picture = cv2.cvtColor(photo(4, 384, 216), cv2.COLOR_RGB2GRAY).astype(np.float32)
    picture = cv2.GaussianBlur(picture, (0, 0), 2)
    picture[216 - strip :] = 15.0
    mean[86:302, 93:477] = picture
    found = inset_windows(mean, (216 / 384,), limit=1)
    assert np.allclose(found[0].sides, (93, 477, 86, 302), atol=0.5), found[0].sides
