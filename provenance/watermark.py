"""An invisible watermark that carries a 32-bit clip id through re-encoding, resizing and edits.

Why this design (the off-the-shelf watermarks lose their bits to one H.264 encode, see
DEPENDENCIES.md): the mark lives at very low spatial frequencies, where a codec or a resize
cannot remove it without visibly changing the picture. Each frame is split into a fixed grid of
cells in normalised coordinates (any resolution and aspect maps onto it); every cell is raised
or lowered by a few luma levels, smoothly interpolated; the same pattern is in every frame, so
the detector averages all frames and compression noise averages out.

- Code: 32-bit id + CRC-16 -> rate-1/3 convolutional code (K=7) -> 162 coded bits, plus 24 known
  sync bits. Each bit is repeated on ~6 cells scattered over the frame.
- Every cell is its own quantisation-index-modulation (QIM) carrier: the detector's high-passed
  value of the cell is moved to the nearest point of its bit's lattice (dithered per cell). A
  photo's own low frequencies are tens of levels, the mark a few; QIM makes the host irrelevant.
  Because cells vote independently, a crop or an overlay costs only the cells it hides.
- Colour edits: the high-pass removes brightness offsets; a contrast change scales every value,
  so the detector searches the gain at which the cell values sit best on the lattice. Where a
  boost clips pixels to black or white, their cells are read again as unseen (CLIPPED_SHARE).
- Geometry: when the whole frame does not read, `watermark_search` finds where a cropped (or
  oddly resized) copy sits: per scale pair one FFT cross-correlation of the copy's QIM phases
  with the cells' dithers scores every offset. The best few placements are polished by
  coordinate ascent of the lattice fit and decoded. The search and the decode of a placement
  read the copy at the statistics' 640 x 360, resampled once from there (at the detector's
  4 pixels per cell a shrunk or turned copy loses most of its mark), and every scale is tried
  at four half-pixel shifts (a textured photo's copy placed half a pixel off reads as chance).
  Searched: up to 15 % off each side (or 30 % off one), and reframes to another aspect that
  keep half of one axis and nearly all of the other. Not searched: a crop together with a
  strong contrast change (the search tries two gains). (A 1-D template, a +-1 pattern per
  column and row, was tried first and lost to the host's own column means.)
- Centred copies: editors zoom, crop evenly, rotate and letterbox about the frame's centre, which
  leaves one unknown, the zoom, per original aspect. `watermark_centred` scans it in 0.2 % steps
  (the crop search's 1 % steps miss a textured photo's mark, whose fit peaks within 0.1-0.2 %).
- Re-uploads (issue 14): flat, still bars of any colour are cut off first (watermark_framing);
  the four mirrors (as is, left-right, upside down, both) are read whole, then scanned as
  centred copies, then searched; then rotations up to 5 degrees (each whole degree turned back
  and scanned as a centred copy from the zoom that fills the frame down to a further crop, a
  letterbox turned with its bars too; the likeliest two again half a degree either side); then
  the original shown inside a larger picture at half its size or more, placed by its border
  (watermark_inset; mirrored or not), else by correlation. A reading says which of these it undid
  (`WatermarkReading.transform`). Every frame carries the same mark, so speed changes and
  reversal need nothing; a clip inside a longer video is read shot by shot (watermark_shots).
  Each search hands the decoder only placements whose z-score clears MIN_SCORE; an inset's
  border windows are decoded ungated, as the whole frame is (INSET_BORDERS), and the decoder
  still demands sync, CRC and the error cap.
- The CRC, the sync bits and a cap on corrected errors reject unmarked clips (no false ids).
- The four corners are left unmarked: the visible label sits in one, and platform logos and
  overlays usually land there.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.linalg  # type: ignore[import-untyped]

from provenance.watermark_centred import centred_placements, zoom_shares
from provenance.watermark_code import CODED_BITS, ID_BITS, codeword, crc16, viterbi
from provenance.watermark_framing import (
    EDGE_MARGIN,
    ORIENTATIONS,
    STILL_LEVELS,
    Box,
    picture_box,
)
from provenance.watermark_inset import inset_windows
from provenance.watermark_search import (
    CellTemplate,
    fill_share,
    inset_placements,
    placements,
)

GRID_W, GRID_H = 48, 27  # cells across and down, whatever the frame size
CORNER_W, CORNER_H = 12, 5  # cells left unmarked in each corner
SYNC_BITS = 24  # known bits: the detector's "is a mark here" test
# QIM step of each cell, in luma levels: a bit's lattices are 2 * STEP apart. 4 since the embed
# stopped clipping (PSNR median 40.3 -> 41.4 dB at 3, 39.9 at 4 on the eval clips): CRF 28 costs a
# mark of 3 levels most of its lattice fit on textured photos (bike-riders 0.10, 0.18 at 4).
STEP = 4.0
RIDGE = 0.05  # regularises the embedder's inverse of the detector's response
MAX_CELL_LEVELS = 8.0  # cap on any cell's change
WHITEN_SIGMA = 1.2  # cells: the detector's high-pass subtracts a blur of this width
GROUP_FRAMES = 8  # frames that share one host compensation
SEED = 0x5347_574D  # fixes the cell layout and dither: part of the algorithm's identity

BITS = CODED_BITS + SYNC_BITS
MAX_ERROR_SHARE = 0.2  # more hard-decision errors (of the bits seen) and the reading is refused
MIN_SYNC = 0.25  # least mean sync agreement (-1..1) of a reading
MIN_SEEN = 0.5  # least share of coded bits with a visible cell
GAINS = np.geomspace(0.5, 2.0, 140).astype(np.float32)  # contrast changes searched
# A pixel whose luma came this close to black or white in any frame was clipped there (a contrast
# boost, a blown sky): clipped channels keep none of the mark and scale the host unevenly. Cells
# with over CLIPPED_SHARE of their pixels clipped are read as unseen when the whole frame does
# not read: contrast x1.4 then CRF 28 clipped 20-31 % of the pixels of 2 of the bench's 6 clips,
# whose lattice fit rose 0.088 -> 0.155 (boats: read) and 0.053 -> 0.094 (bike-riders: not).
CLIPPED_LEVELS = 2.0
CLIPPED_SHARE = 0.1
_PER_CELL = 4  # averaged luma keeps 4 x 4 pixels per cell
_SUPER_SIZE = (GRID_W * _PER_CELL, GRID_H * _PER_CELL)
_ALIGN_SIZE = (GRID_W * 2 * _PER_CELL, GRID_H * 2 * _PER_CELL)  # a placed copy is warped to this
# LumaStats keeps the frames at this size: bars are cut at it, and 720p and 1080p shrink to it by
# whole pixels (the area average's fast path). A half-size inset keeps 6.7 pixels per cell here
# (3.3 at 320 x 180): its lattice fit at the true place after CRF 28 was 0.05-0.16, now 0.13-0.23.
_STATS_SIZE = (640, 360)
CANDIDATES = 3  # placements of a copy that the detector polishes and tries to decode
# Rectangles placed by their border (watermark_inset), decoded in each orientation with no z-score
# gate: a marked 50 % inset of the bench scored z 3.8 there and read, where 160 unmarked clips'
# border windows scored 2.58 +- 0.80 (max 4.78): a gate would lose marks.
INSET_BORDERS = 2
_REFINE_ROUNDS = 4  # passes over the four geometry axes per step size
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


@dataclass
class WatermarkReading:
    """What the detector found: the clip id (None when no mark), how sure it is, and how the copy
    differs from the original (the edits undone to read it, in words)."""

    clip_id: int | None
    confidence: float
    bit_errors_corrected: int
    transform: tuple[str, ...] = ()
    unreadable: str | None = None  # why no reading was possible at all (a blank picture)


@dataclass(frozen=True)
class _Layout:
    """Which cell carries what: a fixed, seeded layout of the grid."""

    cells: np.ndarray  # (C,) flat indices of the marked cells
    owner: np.ndarray  # (C,) the bit each marked cell carries
    dither: np.ndarray  # (C,) float32 lattice offset of each cell, in levels
    response: np.ndarray  # (C, C): the detector's view of a unit change of each marked cell
    factor: tuple[np.ndarray, bool]  # Cholesky factor of the ridge normal matrix below

    def changes(self, wanted: np.ndarray) -> np.ndarray:
        """Cell changes (C, G) whose detector view is nearest each column of `wanted` (C, G).

        Ridge least squares on the marked cells: the view's low frequencies (which the high-pass
        hardly passes) are left alone rather than bought with large, visible changes. Solved per
        clip from the factor, not through a stored inverse: inverting took 0.19 s of every
        process's first clip on one core, these few columns take milliseconds."""
        rhs = (self.response.T @ wanted.astype(np.float32)).astype(np.float64)
        return scipy.linalg.cho_solve(self.factor, rhs).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _layout() -> _Layout:
    rng = np.random.default_rng(SEED)
    marked = np.ones((GRID_H, GRID_W), bool)
    for rows in (slice(0, CORNER_H), slice(GRID_H - CORNER_H, GRID_H)):
        for cols in (slice(0, CORNER_W), slice(GRID_W - CORNER_W, GRID_W)):
            marked[rows, cols] = False
    cells = np.flatnonzero(marked.ravel())
    cells = cells[rng.permutation(cells.size)]
    owner = np.arange(cells.size) % BITS
    dither = rng.uniform(0, 2 * STEP, cells.size).astype(np.float32)
    sub = _response()[np.ix_(cells, cells)]
    normal = (sub.T @ sub).astype(np.float64) + RIDGE * np.eye(cells.size)
    return _Layout(
        cells=cells,
        owner=owner,
        dither=dither,
        response=np.ascontiguousarray(sub),
        factor=scipy.linalg.cho_factor(normal),
    )


def _response() -> np.ndarray:
    """R[:, j]: the detector's view of a unit change of cell j (upsample, shrink, high-pass).

    Every step is separable, so R = Ay (x) Ax - ByAy (x) BxAx, built from 1-D responses.
    """
    ax = np.stack([_detector_grid(np.tile(e, (GRID_H, 1)))[0] for e in np.eye(GRID_W)], axis=1)
    ay = np.stack(
        [_detector_grid(np.tile(e[:, None], (1, GRID_W)))[:, 0] for e in np.eye(GRID_H)], axis=1
    )
    bx = np.stack([_blur(np.tile(e, (GRID_H, 1)))[0] for e in np.eye(GRID_W)], axis=1)
    by = np.stack([_blur(np.tile(e[:, None], (1, GRID_W)))[:, 0] for e in np.eye(GRID_H)], axis=1)
    return (np.kron(ay, ax) - np.kron(by @ ay, bx @ ax)).astype(np.float32)


def _detector_grid(cells: np.ndarray) -> np.ndarray:
    """Per-cell values as the detector's cell grid sees them before the high-pass."""
    upsampled = _upsampled(cells.astype(np.float32))
    return _shrink(_shrink(upsampled, *_SUPER_SIZE), GRID_W, GRID_H)


def _blur(grid: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(
        grid.astype(np.float32), (0, 0), WHITEN_SIGMA, borderType=cv2.BORDER_REFLECT
    )


def _upsampled(
    cell_values: np.ndarray, width: int = GRID_W * 8, height: int = GRID_H * 8
) -> np.ndarray:
    """The smooth full-frame pattern for per-cell values (bilinear between cell centres)."""
    grid = cell_values.reshape(GRID_H, GRID_W).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


def _shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average `image` down to width x height; halving first keeps OpenCV on its fast path."""
    while image.shape[1] >= 4 * width and image.shape[0] >= 4 * height:
        image = cv2.resize(
            image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
        )
    if image.shape[1] % width == 0 and image.shape[0] % height == 0:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    # A fractional ratio under 4 (OpenCV's area path is slow there): linear to twice the size,
    # then an exact 2 x 2 average.
    image = cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _whiten(grid: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """High-pass the cell grid: subtract a (weighted) blur, which holds most of the host image."""
    if weight is None:
        return (grid - _blur(grid)).ravel()
    num, den = _blur(grid * weight), _blur(weight)
    return (grid - num / np.maximum(den, 1e-3)).ravel()


def _luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


# -- embedding ---------------------------------------------------------------------------------


def embed_watermark(frames: np.ndarray, clip_id: int) -> None:
    """Embed `clip_id` (32-bit) into `frames` in place ((N, H, W, 3) uint8 RGB), invisibly."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}"
        )
    if not 0 <= clip_id < 1 << ID_BITS:
        raise ValueError(f"clip_id must be a 32-bit unsigned integer, got {clip_id}")
    layout = _layout()
    height, width = frames.shape[1:3]
    starts = range(0, frames.shape[0], GROUP_FRAMES)
    # One host view per group of frames (its middle frame).
    views = np.stack(
        [
            _grid_view(
                _luma(_shrink(frames[min(s + GROUP_FRAMES // 2, len(frames) - 1)], *_SUPER_SIZE))
            )[layout.cells]
            for s in starts
        ]
    )
    sizes = np.array([min(GROUP_FRAMES, len(frames) - s) for s in starts], np.float32)
    mean = sizes @ views / sizes.sum()  # the host in the clip's average, which the detector reads
    # QIM: each cell's value in the clip's average view moves to the nearest point of its bit's
    # lattice (bit b: dither + b * STEP + 2 * STEP * k), at most one STEP whatever the photo.
    bits = np.append(codeword(clip_id), _sync_bits())[layout.owner].astype(np.float32)
    offset = layout.dither + bits * STEP
    target = np.round((mean - offset) / (2 * STEP)) * 2 * STEP + offset
    base, cancel = _group_changes(layout, target, mean, views)
    for start, group_cancel in zip(starts, cancel, strict=True):
        cells = np.zeros(GRID_W * GRID_H, np.float32)
        cells[layout.cells] = np.clip(base + group_cancel, -MAX_CELL_LEVELS, MAX_CELL_LEVELS)
        # Upsampling is linear, so raising by the positive part and lowering by the negative
        # part adds the smooth pattern with two saturating uint8 operations per frame.
        raise_by = _full_frame(np.maximum(cells, 0), width, height)
        lower_by = _full_frame(np.maximum(-cells, 0), width, height)
        for frame in frames[start : start + GROUP_FRAMES]:
            cv2.add(frame, raise_by, dst=frame)
            cv2.subtract(frame, lower_by, dst=frame)


def _group_changes(
    layout: _Layout, target: np.ndarray, mean: np.ndarray, views: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The cell changes every group of frames shares, and each group's own on top of them.

    The shared change puts the clip's average view on the target. Each group also cancels its
    host's departure from the average, so a run of frames (a trimmed copy) reads the target too,
    but only as far as MAX_CELL_LEVELS leaves room: each cell's cancelling is scaled alike in
    every group (so the groups' cancelling still sums to nothing), never clipped. Clipping each
    group's whole change instead lost the mark where the camera move changes a cell's view by
    tens of levels: on foliage 37 % of the cells were clipped and the unencoded clip's lattice fit
    was 0.15 (0.53 this way), and PSNR was 2-3 dB lower.
    """
    solved = layout.changes(np.column_stack([target - mean, (mean - views).T]))  # one solve
    base, cancel = solved[:, 0], solved[:, 1:].T  # (marked cells,), (groups, marked cells)
    room = np.maximum(MAX_CELL_LEVELS - np.abs(base), 0)
    share = np.minimum(1.0, room / np.maximum(np.abs(cancel).max(axis=0), 1e-6))
    return base, cancel * share


def _full_frame(cells: np.ndarray, width: int, height: int) -> np.ndarray:
    """Non-negative per-cell levels as a (height, width, 3) uint8 pattern, rounded."""
    levels = cv2.convertScaleAbs(_upsampled(cells, width, height))
    return cv2.cvtColor(levels, cv2.COLOR_GRAY2RGB)


@functools.lru_cache(maxsize=1)
def _sync_bits() -> np.ndarray:
    return np.random.default_rng(SEED + 1).integers(0, 2, SYNC_BITS).astype(np.int8)


# -- detection ---------------------------------------------------------------------------------

# Where a copy sits in the original frame, in normalised original coordinates: the copy shows
# x in [left, left + width) and y in [top, top + height).
_Geometry = tuple[float, float, float, float]  # left, width, top, height
_WHOLE: _Geometry = (0.0, 1.0, 0.0, 1.0)


def mean_luma(frames: np.ndarray) -> np.ndarray:
    """Average luma of all frames at a few pixels per cell: what detection works from."""
    total = np.zeros(_SUPER_SIZE[::-1], np.float32)
    for frame in frames:
        total += _luma(_shrink(frame, *_SUPER_SIZE))
    return total / max(1, len(frames))


def _grid_view(luma: np.ndarray) -> np.ndarray:
    return _whiten(_shrink(luma, GRID_W, GRID_H))


def stats_luma(frame: np.ndarray) -> np.ndarray:
    """One (H, W, 3) uint8 RGB frame's luma at the resolution LumaStats keeps."""
    return _luma(_shrink(frame, *_STATS_SIZE))


class LumaStats:
    """Per-pixel mean, least and greatest luma of a clip's frames, added one frame at a time.

    Kept at 640 x 360, above the detector's resolution: the mean is what the mark is read from,
    the least and greatest tell still, flat bars (letterbox, pillarbox) from the picture.
    """

    def __init__(self) -> None:
        shape = _STATS_SIZE[::-1]
        self.total = np.zeros(shape, np.float32)
        self.low = np.full(shape, np.inf, np.float32)
        self.high = np.full(shape, -np.inf, np.float32)
        self.frames = 0
        self.aspect = 16 / 9  # the copy's width / height in pixels, set by the first frame

    def add(self, frame: np.ndarray) -> None:
        """Count one (H, W, 3) uint8 RGB frame in."""
        self.add_luma(stats_luma(frame), frame.shape[1] / frame.shape[0])

    def add_luma(self, luma: np.ndarray, aspect: float) -> None:
        """Count in one frame's `stats_luma`, the frame being `aspect` (width / height) wide."""
        self.total += luma
        np.minimum(self.low, luma, out=self.low)
        np.maximum(self.high, luma, out=self.high)
        self.frames += 1
        self.aspect = aspect

    def still(self) -> bool:
        """Whether the picture never changes (a still image shown as a clip): its frames then
        average no compression noise out, and the mark is read as from one frame."""
        if self.frames < 2:
            return False
        return float(np.percentile(self.high - self.low, 99)) <= STILL_LEVELS

    def clipped(self) -> np.ndarray:
        """Per pixel, whether its luma came within CLIPPED_LEVELS of black or white in any frame."""
        return (self.low <= CLIPPED_LEVELS) | (self.high >= 255 - CLIPPED_LEVELS)

    def picture(self) -> Box | None:
        """Where the picture sits once bars are cut off; None when blank or never added to."""
        if self.frames == 0:
            return None
        return picture_box(self.total / self.frames, self.low, self.high)


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

    The whole picture is read in each orientation first (cheap), then each orientation's crop
    search runs; the first reading that passes sync, CRC and the error cap is the answer.
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
    aspect = stats.aspect * (picture.shape[1] / box.width) / (picture.shape[0] / box.height)
    luma = cv2.resize(picture, _SUPER_SIZE, interpolation=cv2.INTER_AREA)
    padding = box.bars()
    window = _bar_window(box, picture.shape)
    # Searches and the placements they find read the picture at the statistics' resolution:
    # resampled once from there, a shrunk or turned copy keeps far more of its mark than from
    # the detector's 4 pixels per cell (a half-size inset: lattice fit 0.19 against 0.04).
    views = [
        (o.words(), o.undo(luma), o.undo(picture), o.undo_window(window)) for o in ORIENTATIONS
    ]
    readings = [
        _read_whole(view, fine, shown, _clipped_cells(o.undo(clipped)))
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
    rotated = _read_rotated(turns[:2], stats.aspect, originals)
    if rotated is not None:
        mirror, angle, reading, geometry = rotated
        turn = "counter-clockwise" if angle > 0 else "clockwise"
        rotation = f"rotated {abs(angle):g}° {turn}"
        reading.transform = _words(mirror, padding, rotation, _centred_words(geometry, box))
        return reading
    inset = _read_inset(picture.astype(np.float32), _inset_ratios(picture.shape, aspect, originals))
    if inset is not None:
        mirror, reading, geometry = inset
        shown = f"shown inside another picture at {100 / geometry[1]:.0f} % of its width"
        reading.transform = _words(mirror, padding, shown)
        return reading
    return readings[0]


def _bar_window(box: Box, shape: tuple[int, ...]) -> _Geometry:
    """Which share of the original the picture inside bars shows: the line cut beyond each bar
    (EDGE_MARGIN) is a sliver of the original, not a crop to search for."""
    top = EDGE_MARGIN if box.top > 0 else 0
    bottom = EDGE_MARGIN if box.bottom < box.height else 0
    left = EDGE_MARGIN if box.left > 0 else 0
    right = EDGE_MARGIN if box.right < box.width else 0
    height, width = shape[0] + top + bottom, shape[1] + left + right
    return (left / width, shape[1] / width, top / height, shape[0] / height)


def _read_inset(
    luma: np.ndarray, ratios: tuple[float, ...]
) -> tuple[str | None, WatermarkReading, _Geometry] | None:
    """The first id read where the original may sit inside a larger picture, the mirror undone
    and where: first where the inset's border says (watermark_inset), then where the correlation
    search puts it unmirrored (an inset whose border does not show, on a background much like
    its own edge)."""
    bordered = _read_bordered(luma, inset_windows(luma, ratios, INSET_BORDERS))
    if bordered is not None:
        return bordered
    placed = inset_placements(luma, search_template(), CANDIDATES)
    found = _first_reading(luma, [placement.geometry for placement in placed])
    return None if found is None else (None, *found)


def _read_bordered(
    luma: np.ndarray, windows: list[_Geometry]
) -> tuple[str | None, WatermarkReading, _Geometry] | None:
    """The first id read at an inset's border `windows`, in each orientation (a mirror keeps the
    border's rectangle), the mirror undone and where.

    The border places each side to about a tenth of a pixel, where all 12 of the bench's insets
    read unpolished (1.5 ms a try); only the best-fitting guess is polished too (28 ms)."""
    guesses = []
    for orientation in ORIENTATIONS:
        view = orientation.undo(luma)
        for window in windows:
            guess = orientation.undo_window(window)
            values, weight = _aligned(view, guess)
            fit, gain = _best_gain(values, weight, GAINS)
            reading = _read(values, weight, gain)
            if reading.clip_id is not None:
                return orientation.words(), reading, guess
            guesses.append((fit, orientation.words(), view, guess))
    if not guesses:
        return None
    _, mirror, view, guess = max(guesses, key=lambda fitted: fitted[0])
    polished = _first_reading(view, [guess])
    return None if polished is None else (mirror, *polished)


def _inset_ratios(
    shape: tuple[int, ...], aspect: float, originals: tuple[float, ...]
) -> tuple[float, ...]:
    """An inset's height over its width in the pixels of a picture of `shape` (the statistics'
    pixels are not square unless the picture is 16:9), for each original aspect."""
    pixel = aspect * shape[0] / shape[1]  # a pixel's width over its height, in square units
    ratios: list[float] = []
    for original in sorted(originals):
        if not ratios or abs(pixel / original / ratios[-1] - 1) > 0.005:
            ratios.append(pixel / original)
    return tuple(ratios)


def _first_reading(
    luma: np.ndarray, geometries: Iterable[_Geometry]
) -> tuple[WatermarkReading, _Geometry] | None:
    """The first id read where the copy (`luma`) may sit, each guess polished by the lattice fit
    first, and where it sits."""
    for guess in geometries:
        values, weight, gain, geometry = _refine(luma, guess)
        found = _read(values, weight, gain)
        if found.clip_id is not None:
            return found, geometry
    return None


def _read_centred(
    frame: np.ndarray, aspect: float, originals: tuple[float, ...]
) -> tuple[WatermarkReading, _Geometry] | None:
    """The first id read where the copy's whole `frame` keeps the original's centre (an even
    crop, a zoom, bars), scanning zooms finely (see watermark_centred), and where it sits."""
    shares = zoom_shares(aspect, originals)
    placed = centred_placements(frame, search_template(), shares, CANDIDATES)
    return _first_reading(frame, [placement.geometry for placement in placed])


def _read_rotated(
    frames: list[tuple[str | None, np.ndarray]], aspect: float, originals: tuple[float, ...]
) -> tuple[str | None, float, WatermarkReading, _Geometry] | None:
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
            for placement in centred_placements(turned, template, shares, 1):
                tries.append((placement.score, mirror, angle, turned, placement.geometry))
    for _, mirror, angle, turned, geometry in sorted(tries, key=lambda t: -t[0]):
        values, weight, gain, geometry = _refine(turned, geometry)
        found = _read(values, weight, gain)
        if found.clip_id is not None:
            return mirror, angle, found, geometry
    return None


def _turned_shares(angle: float, aspect: float, originals: tuple[float, ...]) -> np.ndarray:
    """The centred windows scanned for a copy turned by `angle`: from a sliver past the zoom that
    fills its frame down to a crop on top of it."""
    fill = fill_share(angle, aspect)
    return zoom_shares(aspect, originals, ROTATION_CROP * fill, fill + ZOOM_SLACK)


def _unrotated(picture: np.ndarray, angle: float, aspect: float) -> np.ndarray:
    """The copy turned back by `angle` degrees (counter-clockwise positive) about its centre.

    The statistics keep every copy at 640 x 360, so a copy of another `aspect` (its width /
    height in its own pixels) has non-square pixels here: the turn is made in square units (a
    4:3 letterbox turned 3° read best 0.5° off when turned in the statistics' pixels). The
    corners that come from outside the copy are filled by reflection: they read as a few more
    cells of chance, which the scan's z-score already allows for.
    """
    height, width = picture.shape
    stretch = aspect * height / width  # a pixel's width over its height, in square units
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


def _words(*parts: str | None) -> tuple[str, ...]:
    return tuple(part for part in parts if part)


def _centred_words(geometry: _Geometry, box: Box) -> str | None:
    """A centred placement in words: which share of the original the picture (inside any bars)
    shows."""
    _, width, _, height = geometry
    top, bottom, left, right = box.shares()
    return _crop_words(
        (0.0, min(1.0, width * (right - left)), 0.0, min(1.0, height * (bottom - top)))
    )


def _crop_words(geometry: _Geometry) -> str | None:
    """A found placement in words: which share of the original the copy shows."""
    left, width, top, height = geometry
    if max(abs(left), abs(top), abs(1 - width), abs(1 - height)) < 0.01:
        return None
    return f"cropped or reframed (shows {100 * width:.0f} % x {100 * height:.0f} % of the original)"


def detect_in_luma(luma: np.ndarray, aspect: float | None = None) -> WatermarkReading:
    """Read the clip id from `mean_luma`'s average of a clip's frames, cropped or not.

    `aspect` (the copy's width / height in pixels) narrows the crops searched when the whole
    frame does not read; without it only crops of equal share per axis or of one axis are tried.
    """
    luma = luma.astype(np.float32)
    reading = _read_whole(luma)
    if reading.clip_id is not None:
        return reading
    found = _read_searched(luma, aspect)
    if found is None:
        return reading
    reading, geometry = found
    reading.transform = _words(_crop_words(geometry))
    return reading


def _read_whole(
    luma: np.ndarray,
    picture: np.ndarray | None = None,
    shown: _Geometry = _WHOLE,
    clipped: np.ndarray | None = None,
) -> WatermarkReading:
    """The reading of the copy (`luma`) as the whole original frame, then without the cells
    `clipped` says lost their mark to clipping; failing that, as the window of it that `shown`
    says `picture` (the copy at a finer resolution) shows once bars are cut off, polished by the
    lattice fit (bars are found only to the pixel)."""
    values, weight = _aligned(luma, _WHOLE)
    _, gain = _best_gain(values, weight, GAINS)
    reading = _read(values, weight, gain)
    if reading.clip_id is None and clipped is not None and clipped.any():
        unclipped = weight * ~clipped
        _, gain = _best_gain(values, unclipped, GAINS)
        erased = _read(values, unclipped, gain)
        reading = erased if erased.clip_id is not None else reading
    if reading.clip_id is not None or shown == _WHOLE or picture is None:
        return reading
    values, weight, gain, _ = _refine(picture, shown)
    windowed = _read(values, weight, gain)
    return windowed if windowed.clip_id is not None else reading


def _clipped_cells(clipped: np.ndarray) -> np.ndarray:
    """Which marked cells of a picture read whole have over CLIPPED_SHARE of their pixels
    clipped (`clipped`: 1 where a pixel was, at any resolution)."""
    share = cv2.resize(clipped, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
    return share.ravel()[_layout().cells] > CLIPPED_SHARE


def _read_searched(
    luma: np.ndarray,
    aspect: float | None,
    *,
    coarse: np.ndarray | None = None,
) -> tuple[WatermarkReading, _Geometry] | None:
    """The first id read at the crop search's likeliest placements, and where the copy sits.

    A placement that does not read from `luma` is read again from `coarse` (the same copy at
    the detector's super-sampled size), when given: near the decoder's limit, either may be the
    one that reads (eval photos at CRF 28: each read a crop the other missed).
    """
    template = search_template()
    for placement in placements(luma, template, aspect, CANDIDATES):
        for source in (luma,) if coarse is None else (luma, coarse):
            values, weight, gain, geometry = _refine(source, placement.geometry)
            found = _read(values, weight, gain)
            if found.clip_id is not None:
                return found, geometry
    return None


@functools.lru_cache(maxsize=1)
def search_template() -> CellTemplate:
    """The marked cells and their dithers, as the crop search correlates them."""
    layout = _layout()
    return CellTemplate(
        layout.cells, layout.dither, (GRID_W, GRID_H), _PER_CELL, STEP, WHITEN_SIGMA
    )


def _aligned(luma: np.ndarray, geometry: _Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The marked cells' high-passed values if the copy (`luma`, at any resolution) sits at
    `geometry`, and which are seen."""
    layout = _layout()
    if geometry == _WHOLE and luma.shape == _SUPER_SIZE[::-1]:
        return _grid_view(luma)[layout.cells], np.ones(layout.cells.size, np.float32)
    left, width, top, height = geometry
    copy_h, copy_w = luma.shape
    # The copy is warped onto the original frame at twice the detector's pixels per cell, then
    # averaged per cell: a copy finer than that is not blurred by the warp's interpolation.
    w0, h0 = _ALIGN_SIZE
    # Original-frame sample X (centre X + 0.5 of w0) shows copy sample
    # ((X + 0.5) / w0 - left) / width * copy_w - 0.5.
    inverse = np.array(
        [
            [copy_w / (w0 * width), 0, (0.5 / w0 - left) / width * copy_w - 0.5],
            [0, copy_h / (h0 * height), (0.5 / h0 - top) / height * copy_h - 0.5],
        ],
        np.float32,
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    canvas = cv2.warpAffine(luma, inverse, (w0, h0), flags=flags, borderValue=0)
    seen = cv2.warpAffine(np.ones_like(luma), inverse, (w0, h0), flags=flags, borderValue=0)
    grid = cv2.resize(canvas, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
    cover = cv2.resize(seen, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
    weight = (cover > 0.999).astype(np.float32)  # cells cut by the crop edge read garbage
    values = _whiten(grid, weight)
    return values[layout.cells], weight.ravel()[layout.cells]


def _fit(values: np.ndarray, weight: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """How well the values sit on the cells' lattices at each gain (1: exactly, 0: chance)."""
    phase = (values[None, :] / gains[:, None] - _layout().dither) * (2 * np.pi / STEP)
    return np.cos(phase) @ weight / max(float(weight.sum()), 1.0)


def _best_gain(values: np.ndarray, weight: np.ndarray, gains: np.ndarray) -> tuple[float, float]:
    scores = _fit(values, weight, gains)
    index = int(np.argmax(scores))
    return float(scores[index]), float(gains[index])


def _refine(
    luma: np.ndarray, geometry: _Geometry
) -> tuple[np.ndarray, np.ndarray, float, _Geometry]:
    """Coordinate ascent of the lattice fit over the geometry (and gain) near a first guess."""
    w0, h0 = _SUPER_SIZE
    values, weight = _aligned(luma, geometry)
    fit, gain = _best_gain(values, weight, GAINS)
    for step in (0.5, 0.25):  # in super-sampled pixels (an eighth and a sixteenth of a cell)
        near = gain * np.geomspace(0.95, 1.05, 7).astype(np.float32)
        moves = (step / w0, step / w0, step / h0, step / h0)
        improved, rounds = True, 0
        while improved and rounds < _REFINE_ROUNDS:
            improved, rounds = False, rounds + 1
            for axis, sign in ((a, s) for a in range(4) for s in (1, -1)):
                trial = list(geometry)
                trial[axis] += sign * moves[axis]
                if axis in (1, 3):  # a scale change pivots on the copy's centre
                    trial[axis - 1] -= sign * moves[axis] / 2
                candidate = (trial[0], trial[1], trial[2], trial[3])
                trial_values, trial_weight = _aligned(luma, candidate)
                trial_fit, trial_gain = _best_gain(trial_values, trial_weight, near)
                if trial_fit > fit:
                    geometry, values, weight = candidate, trial_values, trial_weight
                    fit, gain, improved = trial_fit, trial_gain, True
    return values, weight, gain, geometry


def _read(values: np.ndarray, weight: np.ndarray, gain: float) -> WatermarkReading:
    """Decode the cells' values at `gain`; a reading only when sync, CRC and error count agree."""
    layout = _layout()
    phase = (values / gain - layout.dither) * (np.pi / STEP)
    votes = np.bincount(layout.owner, -np.cos(phase) * weight, BITS)
    seen = np.bincount(layout.owner, weight, BITS)
    soft = votes / np.maximum(seen, 1.0)  # +1 on bit 1's lattice, -1 on bit 0's, 0 unseen
    sync_seen = seen[CODED_BITS:] > 0
    sync = (
        float(np.mean((soft[CODED_BITS:] * (2 * _sync_bits() - 1))[sync_seen]))
        if sync_seen.any()
        else 0.0
    )
    coded, visible = soft[:CODED_BITS], seen[:CODED_BITS] > 0
    info = viterbi(coded)
    clip_id = int("".join(map(str, info[:ID_BITS])), 2)
    crc = int("".join(map(str, info[ID_BITS:])), 2)
    wrong = (coded > 0) != codeword(clip_id).astype(bool)
    errors = int(np.count_nonzero(wrong & visible))
    shown = int(np.count_nonzero(visible))
    if (
        crc != crc16(clip_id)
        or shown < MIN_SEEN * CODED_BITS
        or errors > MAX_ERROR_SHARE * shown
        or sync < MIN_SYNC
    ):
        return WatermarkReading(None, round(max(0.0, sync), 3), errors)
    confidence = min(1.0, max(0.0, sync)) * (1 - errors / shown)
    return WatermarkReading(clip_id, round(confidence, 3), errors)
