"""Detect the watermark in a copy: try each kind of copy a re-uploader makes, in turn.

The order (see watermark.py's docstring for why each step exists): bars are cut off
(watermark_framing); the four mirrors are read whole, then scanned as centred copies
(watermark_centred), then searched as crops (watermark_search); then rotations up to 5 degrees;
then, where bars were turned with the picture, the turn their slivers show; then the original
shown inside a larger picture (watermark_inset, else the correlation search).
Each candidate placement is decoded by watermark_decode; the first reading that passes sync, CRC
and the error cap is the answer, and says in words which edits it undid.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import cv2
import numpy as np

from provenance.watermark import (
    GRID_H,
    GRID_W,
    PER_CELL,
    STEP,
    SUPER_SIZE,
    WHITEN_SIGMA,
    cell_layout,
)
from provenance.watermark_centred import CENTRED_MIN_SCORE, centred_placements, zoom_shares
from provenance.watermark_decode import (
    GAINS,
    WHOLE,
    Geometry,
    WatermarkReading,
    aligned_cells,
    best_gain,
    best_unclipped_gain,
    decode_cells,
    first_reading,
    refine,
    unclipped,
)
from provenance.watermark_framing import (
    ORIENTATIONS,
    Box,
    bar_slant,
    picture_box,
    picture_window,
)
from provenance.watermark_inset import inset_windows
from provenance.watermark_search import CellTemplate, fill_share, inset_placements, placements
from provenance.watermark_stats import LumaStats

# Cells with over this share of their pixels clipped (`LumaStats.clipped`) are read as unseen when
# the whole frame does not read, once clipped channels are put back (`unclipped`). The bench's 30
# 720p clips boosted x1.4 (x1.6) then CRF 28: 27 (22) read before either, 29 (25) with clipped
# channels put back, 30 (28) with these cells unseen too; left unseen alone, 27 (23).
CLIPPED_SHARE = 0.1
CANDIDATES = 3  # placements of a copy that the detector polishes and tries to decode
# Rectangles placed by their border (watermark_inset), decoded in each orientation with no z-score
# gate: a marked 50 % inset of the bench scored z 3.8 there and read, where 160 unmarked clips'
# border windows scored 2.58 +- 0.80 (max 4.78): a gate would lose marks.
INSET_BORDERS = 2
# A copy turned or cropped before it was shown inside another picture is searched for only inside
# a border this sharp (its weakest side's mean gradient over the cap, watermark_inset): the
# bench's insets, edited or not, scored 0.83-1.0 at CRF 28; 32 copies of 8 eval clips without an
# inset (as is, turned, mirrored, cropped) and 8 unmarked clips 0.13-0.59. Over all 26 eval
# photos (2026-12-07, 720p, CRF 28) turned or cropped insets scored 0.74-1.0 (the bench's turned
# jetty-grey-mist 0.74) and 104 copies without one 0.22-0.69, but for grace-hopper's portrait
# frame, turned or cropped (0.76-0.77): the gate saves time, and INSIDE_MIN_SCORE keeps the false
# matches out (0 ids over 320 unmarked copies aimed at this route at 0.7).
SHARP_BORDER = 0.7
INSIDE_MIN_SCORE = 3.0
# An inset's own bars (a padded copy shown inside another picture): a bar under THIN_BAR lines of
# the statistics blends into the inset's border and is not seen (bench: white padding of 12 of
# 772 lines, shown at 60 %, is 3.4 lines). The sides without a seen bar are tried up to this many
# lines in; the FITTED_WINDOWS windows that fit the lattice best are read.
THIN_BAR, FITTED_WINDOWS = 3, 2
# Pixels inside an inset's border where its own bars are looked for: the first line inside still
# blends with the background (a black bar's was 97.6 % flat, under BAR_SHARE, so no bar was seen).
INSIDE_MARGIN = 2.0
# Rotations ranked, in degrees (counter-clockwise positive); the likeliest are read half a degree
# either side too. The lattice fit's peak is about a tenth of a degree wide on a textured photo
# (bike-riders turned 3°: z 7.8 at 3°, 5.1 at 3.1°), so other angles read only on strong marks.
ROTATIONS = tuple(sign * step for step in (1.0, 2.0, 3.0, 4.0, 5.0) for sign in (1, -1))
# Zooms scanned per angle: from this far past the zoom that fills the frame (a turned copy that
# shows a sliver of its corners) down to this share of it (a crop of 10 % per side on top).
ZOOM_SLACK, ROTATION_CROP = 0.02, 0.8
# The rotation scans rank the angles at 3/4 of the statistics' size. Bike-riders' true angle (z 7.8
# at 640 x 360) ranked first at 480 x 270 (z 6.1-7.0, the next 4.0-4.5) but third of the 20
# (angle, mirror) pairs at 320 x 180 when letterboxed and turned (z 4.0 among 3.9-4.3).
_SCAN_SIZE = (480, 270)
ROTATION_HINTS = 2  # the best-ranked (angle, mirror) pairs scanned again at full size


def detect_watermark(frames: np.ndarray) -> WatermarkReading:
    """Read the clip id from decoded frames ((N, H, W, 3) uint8 RGB); clip_id None when absent."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError(f"frames must be (N, H, W, 3) RGB, got {frames.shape}")
    stats = LumaStats()
    for frame in frames:
        stats.add(frame)
    return detect_in_stats(stats)


def detect_in_stats(stats: LumaStats) -> WatermarkReading:
    """Read the clip id of a copy, cutting off bars and undoing mirrors when the copy has them.

    Cheapest first, in each of the four orientations: the whole picture (then with clipped
    channels put back, and clipped cells left unseen), centred zooms, the crop search, turns up
    to 5 degrees, and picture in picture placed by its border. The first reading that passes
    sync, CRC and the error cap is the answer.
    """
    if stats.frames == 0:
        return WatermarkReading(None, 0.0, 0, unreadable="the clip has no frames")
    box = stats.picture()
    if box is None:
        return WatermarkReading(
            None, 0.0, 0, unreadable="the picture is blank (one flat colour, nothing to read)"
        )
    rows, columns = slice(box.top, box.bottom), slice(box.left, box.right)
    picture = stats.total[rows, columns] / stats.frames
    clipped = stats.clipped()[rows, columns].astype(np.float32)
    balance = cv2.resize(
        stats.balance[rows, columns] / stats.frames, SUPER_SIZE, interpolation=cv2.INTER_AREA
    )
    aspect = stats.aspect * (picture.shape[1] / box.width) / (picture.shape[0] / box.height)
    luma = cv2.resize(picture, SUPER_SIZE, interpolation=cv2.INTER_AREA)
    padding = box.bars()
    window = picture_window(stats.total / stats.frames, box)
    # Searches and the placements they find read the picture at the statistics' resolution:
    # resampled once from there, a shrunk or turned copy keeps far more of its mark than from
    # the detector's 4 pixels per cell (a half-size inset: lattice fit 0.19 against 0.04).
    views = [
        (o.words(), o.undo(luma), o.undo(picture), o.undo_window(window)) for o in ORIENTATIONS
    ]
    readings = [
        _read_whole(view, fine, shown, o.undo(balance), _clipped_cells(o.undo(clipped)))
        for o, (_, view, fine, shown) in zip(ORIENTATIONS, views, strict=True)
    ]
    for (mirror, *_), reading in zip(views, readings, strict=True):
        if reading.clip_id is not None:
            reading.transform = _words(mirror, padding)
            return reading
    frame = (stats.total / stats.frames).astype(np.float32)
    # Originals a centred copy may come from: its own aspect, its picture's once bars are cut,
    # and the generator's default 16:9 (a letterbox turned with its bars keeps no flat bars).
    originals = (stats.aspect, aspect, 16 / 9)
    turns = [(o.words(), o.undo(frame)) for o in ORIENTATIONS]
    for mirror, turned in turns:
        found = _read_centred(turned, stats.aspect, originals)
        if found is not None:
            reading, geometry = found
            reading.transform = _words(mirror, padding, _centred_words(geometry, box))
            return reading
    for mirror, view, fine, _ in views:
        found = _read_searched(fine, aspect, coarse=view)
        if found is not None:
            reading, geometry = found
            reading.transform = _words(mirror, padding, _crop_words(geometry))
            return reading
    # Upside-down turns are ranked apart: among all 40 (angle, mirror) pairs a weak mark's true
    # angle could fall out of the ROTATION_HINTS scanned at full size.
    rotated = _read_rotated(turns[:2], stats.aspect, originals) or _read_rotated(
        turns[2:], stats.aspect, originals
    )
    if rotated is not None:
        mirror, angle, reading, geometry = rotated
        rotation = _rotation_words(angle)
        reading.transform = _words(mirror, padding, rotation, _centred_words(geometry, box))
        return reading
    pixel = _pixel_width(frame.shape, stats.aspect)
    slant = bar_slant(frame, stats.low, stats.high, pixel)
    slanted = None if slant is None else _read_slanted(frame, slant, stats.aspect)
    if slanted is not None:
        mirror, angle, reading, geometry = slanted
        turned = "padded before it was turned"
        rotation = _rotation_words(round(angle, 1))  # the bars' slant is read to about 0.1°
        reading.transform = _words(mirror, turned, rotation, _crop_words(geometry))
        return reading
    still = (stats.low[rows, columns], stats.high[rows, columns])
    inset = _read_inset(picture.astype(np.float32), still, aspect, originals)
    if inset is not None:
        reading, edits, width = inset
        shown = f"shown inside another picture at {100 / width:.0f} % of its width"
        reading.transform = _words(*edits, padding, shown)
        return reading
    return readings[0]


def _read_inset(
    luma: np.ndarray,
    still: tuple[np.ndarray, np.ndarray],
    aspect: float,
    originals: tuple[float, ...],
) -> tuple[WatermarkReading, tuple[str | None, ...], float] | None:
    """The first id read where the original may sit inside a larger picture (`luma`, of display
    `aspect`; `still`: each pixel's least and greatest luma), the edits undone to read it in
    words, and the inset's width over the picture's.

    First where the inset's border says (watermark_inset), in each mirror; then where the
    correlation search puts it unmirrored (an inset whose border does not show, on a background
    much like its own edge); last, inside each sharp border, a copy that was letterboxed, turned
    or cropped before it was shown there (a letterboxed copy's border has the copy's own shape,
    which `originals` holds; other shapes are not searched). Each, not only the first: an inset
    whose corner lies on the frame's diagonal has the shape of the box from that corner to the
    frame's far one, which may rank first."""
    insets = inset_windows(luma, _inset_ratios(luma.shape, aspect, originals), INSET_BORDERS)
    bordered = _read_bordered(luma, [inset.window for inset in insets])
    if bordered is not None:
        mirror, reading, geometry = bordered
        return reading, (mirror,), geometry[1]
    placed = inset_placements(luma, search_template(), CANDIDATES)
    found = first_reading(luma, [placement.geometry for placement in placed])
    if found is not None:
        return found[0], (), found[1][1]
    for inset in insets:
        if inset.sharpness < SHARP_BORDER:
            continue
        left, right, top, bottom = inset.sides
        pixel = _pixel_width(luma.shape, aspect)
        within = [inset.picture(image, INSIDE_MARGIN) for image in (luma, *still)]
        edited = _read_edited(inset.picture(luma), within, pixel * (right - left) / (bottom - top))
        if edited is not None:
            return edited[0], edited[1], inset.window[1]
    return None


def _read_edited(
    picture: np.ndarray, within: list[np.ndarray], aspect: float
) -> tuple[WatermarkReading, tuple[str | None, ...]] | None:
    """The first id read in an inset's `picture` that shows the original, unmirrored, inside
    bars (found `within` its border: the mean, least and greatest luma INSIDE_MARGIN in) or
    zoomed or turned about its centre, and those edits in words."""
    box = picture_box(*within)
    if box is not None and box.bars() is not None:
        reading = _read_inside_bars(within[0], box)
        if reading is not None:
            return reading, (box.bars(),)
    centred = _read_centred(picture, aspect, (aspect,), INSIDE_MIN_SCORE)
    if centred is not None:
        reading, geometry = centred
        return reading, (_crop_words(geometry),)
    rotated = _read_rotated([(None, picture)], aspect, (aspect,), INSIDE_MIN_SCORE)
    if rotated is None:
        return None
    _, angle, reading, geometry = rotated
    return reading, (_rotation_words(angle), _crop_words(geometry))


def _read_inside_bars(mean: np.ndarray, box: Box) -> WatermarkReading | None:
    """The id read from the picture inside an inset's own bars (`box`, in `mean`), where a bar
    too thin to be seen under the inset's blended border may hide on the sides that show none.

    The window the bars seen give is read first; then, where bars were seen on two sides or
    more, each side without one is also tried up to THIN_BAR lines in, a line at a time, and of
    those windows only the FITTED_WINDOWS that fit the lattice best are read (decoded, then
    polished)."""
    bare = (box.top == 0, box.bottom == box.height, box.left == 0, box.right == box.width)
    moves = tuple(range(THIN_BAR + 1)) if sum(bare) <= 2 else (0,)  # at most 16 windows
    sides = [moves if side else (0,) for side in bare]
    windows = [
        dataclasses.replace(
            box,
            top=box.top + top,
            bottom=box.bottom - bottom,
            left=box.left + left,
            right=box.right - right,
        )
        for top, bottom, left, right in itertools.product(*sides)
    ]
    shown = [mean[w.top : w.bottom, w.left : w.right] for w in windows]
    lumas = [cv2.resize(image, SUPER_SIZE, interpolation=cv2.INTER_AREA) for image in shown]
    # The first window is the one the seen bars give (no side moved): read whatever it fits.
    fits = [best_gain(*aligned_cells(luma, WHOLE), GAINS)[0] for luma in lumas[1:]]
    moved = sorted(range(1, len(windows)), key=lambda i: -fits[i - 1])[:FITTED_WINDOWS]
    for i in [0, *moved]:
        reading = _read_whole(lumas[i], shown[i], picture_window(mean, windows[i]))
        if reading.clip_id is not None:
            return reading
    return None


def _read_bordered(
    luma: np.ndarray, windows: list[Geometry]
) -> tuple[str | None, WatermarkReading, Geometry] | None:
    """The first id read at an inset's border `windows`, in each orientation (a mirror keeps the
    border's rectangle), the mirror undone and where.

    The border places each side to about a tenth of a pixel, where all 12 of the bench's insets
    read unpolished (1.5 ms a try); only the best-fitting guess is polished too (28 ms)."""
    guesses = []
    for orientation in ORIENTATIONS:
        view = orientation.undo(luma)
        for window in windows:
            guess = orientation.undo_window(window)
            values, weight = aligned_cells(view, guess)
            fit, gain = best_gain(values, weight, GAINS)
            reading = decode_cells(values, weight, gain)
            if reading.clip_id is not None:
                return orientation.words(), reading, guess
            guesses.append((fit, orientation.words(), view, guess))
    if not guesses:
        return None
    _, mirror, view, guess = max(guesses, key=lambda fitted: fitted[0])
    polished = first_reading(view, [guess])
    return None if polished is None else (mirror, *polished)


def _inset_ratios(
    shape: tuple[int, ...], aspect: float, originals: tuple[float, ...]
) -> tuple[float, ...]:
    """An inset's height over its width in the pixels of a picture of `shape` (the statistics'
    pixels are not square unless the picture is 16:9), for each original aspect."""
    pixel = _pixel_width(shape, aspect)
    ratios: list[float] = []
    for original in sorted(originals):
        if not ratios or abs(pixel / original / ratios[-1] - 1) > 0.005:
            ratios.append(pixel / original)
    return tuple(ratios)


def _read_centred(
    frame: np.ndarray,
    aspect: float,
    originals: tuple[float, ...],
    min_score: float = CENTRED_MIN_SCORE,
) -> tuple[WatermarkReading, Geometry] | None:
    """The first id read where the copy's whole `frame` keeps the original's centre (an even
    crop, a zoom, bars), scanning zooms finely (see watermark_centred), and where it sits."""
    shares = zoom_shares(aspect, originals)
    placed = centred_placements(frame, search_template(), shares, CANDIDATES, min_score)
    return first_reading(frame, [placement.geometry for placement in placed])


def _read_rotated(
    frames: list[tuple[str | None, np.ndarray]],
    aspect: float,
    originals: tuple[float, ...],
    min_score: float = CENTRED_MIN_SCORE,
) -> tuple[str | None, float, WatermarkReading, Geometry] | None:
    """A reading of a copy rotated about its centre, and its mirror and angle.

    Each angle is turned back and its centred zooms scanned, from a little past the zoom that
    fills the frame (rotate and scale to fill, what editors do) down to a further crop; a
    letterboxed frame turned with its bars is the same scan with the bars' aspect. Each whole
    degree is first scanned at a smaller size (_SCAN_SIZE, 3/4 of the cost) to rank them; the
    likeliest are scanned again at full size, there and half a degree either side (the smaller
    scan costs a weak mark 1-2 of its z, which would put it under the threshold), and the best
    placements decoded, best first: a small copy's centre may decode a degree or two off its
    angle (the code corrects the outer cells), and would name the wrong turn.
    """
    template, hints = search_template(), []
    for mirror, frame in frames:
        small = cv2.resize(frame, _SCAN_SIZE, interpolation=cv2.INTER_AREA)
        for angle in ROTATIONS:
            shares = _turned_shares(angle, aspect, originals)
            turned = _unrotated(small, angle, aspect)
            for placement in centred_placements(turned, template, shares, 1, -np.inf):
                hints.append((placement.score, mirror, angle, frame))
    tries = []
    for _, mirror, whole, frame in sorted(hints, key=lambda h: -h[0])[:ROTATION_HINTS]:
        for angle in (whole, whole - 0.5, whole + 0.5):
            turned = _unrotated(frame, angle, aspect)
            shares = _turned_shares(angle, aspect, originals)
            for placement in centred_placements(turned, template, shares, 1, min_score):
                tries.append((placement.score, mirror, angle, turned, placement.geometry))
    for _, mirror, angle, turned, geometry in sorted(tries, key=lambda t: -t[0]):
        values, weight, gain, geometry = refine(turned, geometry)
        found = decode_cells(values, weight, gain)
        if found.clip_id is not None:
            return mirror, angle, found, geometry
    return None


def _read_slanted(
    frame: np.ndarray, slant: float, aspect: float
) -> tuple[str | None, float, WatermarkReading, Geometry] | None:
    """A reading of a copy padded, then turned by `slant` degrees (found from its bars): turned
    back in each mirror (a mirror turns the other way), the original is searched for as a crop,
    as its centre need not be the frame's (uneven padding), and its mirror and angle."""
    for orientation in ORIENTATIONS:
        angle = -slant if orientation.left_right != orientation.up_down else slant
        turned = _unrotated(orientation.undo(frame), angle, aspect)
        found = _read_searched(turned, aspect)
        if found is not None:
            return orientation.words(), angle, *found
    return None


def _turned_shares(angle: float, aspect: float, originals: tuple[float, ...]) -> np.ndarray:
    """The centred windows scanned for a copy turned by `angle`: from a sliver past the zoom that
    fills its frame down to a crop on top of it."""
    fill = fill_share(angle, aspect)
    return zoom_shares(aspect, originals, ROTATION_CROP * fill, fill + ZOOM_SLACK)


def _unrotated(picture: np.ndarray, angle: float, aspect: float) -> np.ndarray:
    """The copy turned back by `angle` degrees (counter-clockwise positive) about its centre.

    The statistics keep a copy at 640 x 360 to 640 x 480, so a copy of another `aspect` (its
    width / height in its own pixels) may have non-square pixels here: the turn is made in
    square units (a 4:3 letterbox turned 3° read best 0.5° off when turned in the statistics'
    pixels). The corners that come from outside the copy are filled by reflection: they read as
    a few more cells of chance, which the scan's z-score already allows for.
    """
    height, width = picture.shape
    stretch = _pixel_width(picture.shape, aspect)
    turn = np.radians(-angle)
    linear = np.array(
        [[np.cos(turn), np.sin(turn) / stretch], [-np.sin(turn) * stretch, np.cos(turn)]]
    )
    centre = np.array([width / 2, height / 2])
    matrix = np.column_stack([linear, centre - linear @ centre]).astype(np.float32)
    return cv2.warpAffine(
        picture.astype(np.float32),
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )


def _pixel_width(shape: tuple[int, ...], aspect: float) -> float:
    """A pixel's width over its height, in square units, in a picture of `shape` that shows a
    copy `aspect` wide (the statistics keep a copy at 640 x 360 to 640 x 480)."""
    return aspect * shape[0] / shape[1]


def _rotation_words(angle: float) -> str:
    turn = "counter-clockwise" if angle > 0 else "clockwise"
    return f"rotated {abs(angle):g}° {turn}"


def _words(*parts: str | None) -> tuple[str, ...]:
    return tuple(part for part in parts if part)


def _centred_words(geometry: Geometry, box: Box) -> str | None:
    """A centred placement in words: which share of the original the picture (inside any bars)
    shows."""
    _, width, _, height = geometry
    top, bottom, left, right = box.shares()
    return _crop_words(
        (0.0, min(1.0, width * (right - left)), 0.0, min(1.0, height * (bottom - top)))
    )


def _crop_words(geometry: Geometry) -> str | None:
    """A found placement in words: which share of the original the copy shows."""
    left, width, top, height = geometry
    if max(abs(left), abs(top), abs(1 - width), abs(1 - height)) < 0.01:
        return None
    return f"cropped or reframed (shows {100 * width:.0f} % x {100 * height:.0f} % of the original)"


def _read_whole(
    luma: np.ndarray,
    picture: np.ndarray | None = None,
    shown: Geometry = WHOLE,
    balance: np.ndarray | None = None,
    clipped: np.ndarray | None = None,
) -> WatermarkReading:
    """The reading of the copy (`luma`) as the whole original frame; then with its clipped
    channels put back where the contrast gain found would have sent them (`balance`: the clip
    balance at the size of `luma`), all cells seen and then without those `clipped` says lost
    most of their mark; failing that, as the window of it that `shown` says `picture` (the copy
    at a finer resolution) shows once bars are cut off, polished by the lattice fit (bars are
    found only to the pixel)."""
    values, weight = aligned_cells(luma, WHOLE)
    _, gain = best_gain(values, weight, GAINS)
    reading = decode_cells(values, weight, gain)
    if reading.clip_id is None and balance is not None and balance.any():
        balances, _ = aligned_cells(balance, WHOLE)
        seen = [weight] if clipped is None or not clipped.any() else [weight, weight * ~clipped]
        for kept in seen:
            _, gain = best_unclipped_gain(values, balances, kept, GAINS)
            restored = decode_cells(unclipped(values, balances, gain), kept, gain)
            if restored.clip_id is not None:
                reading = restored
                break
    if reading.clip_id is not None or shown == WHOLE or picture is None:
        return reading
    values, weight, gain, _ = refine(picture, shown)
    windowed = decode_cells(values, weight, gain)
    return windowed if windowed.clip_id is not None else reading


def _clipped_cells(clipped: np.ndarray) -> np.ndarray:
    """Which marked cells of a picture read whole have over CLIPPED_SHARE of their pixels
    clipped (`clipped`: 1 where a pixel was, at any resolution)."""
    share = cv2.resize(clipped, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
    return share.ravel()[cell_layout().cells] > CLIPPED_SHARE


def _read_searched(
    luma: np.ndarray,
    aspect: float | None,
    *,
    coarse: np.ndarray | None = None,
) -> tuple[WatermarkReading, Geometry] | None:
    """The first id read at the crop search's likeliest placements, and where the copy sits.

    A placement that does not read from `luma` is read again from `coarse` (the same copy at
    the detector's super-sampled size), when given: near the decoder's limit, either may be the
    one that reads (eval photos at CRF 28: each read a crop the other missed).
    """
    template = search_template()
    for placement in placements(luma, template, aspect, CANDIDATES):
        for source in (luma,) if coarse is None else (luma, coarse):
            values, weight, gain, geometry = refine(source, placement.geometry)
            found = decode_cells(values, weight, gain)
            if found.clip_id is not None:
                return found, geometry
    return None


@functools.lru_cache(maxsize=1)
def search_template() -> CellTemplate:
    """The marked cells and their dithers, as the crop search correlates them."""
    layout = cell_layout()
    return CellTemplate(layout.cells, layout.dither, (GRID_W, GRID_H), PER_CELL, STEP, WHITEN_SIGMA)
