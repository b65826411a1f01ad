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
  boost clips channels to black or white, they took the host's levels with them: the reader puts
  each clipped channel back halfway to where that gain could have sent it (UNCLIP_REACH), and
  reads again with the cells most clipped left unseen (CLIPPED_SHARE).
- Geometry: when the whole frame does not read, `watermark_search` finds where a cropped (or
  oddly resized) copy sits: per scale pair one FFT cross-correlation of the copy's QIM phases
  with the cells' dithers scores every offset. The best few placements are polished by
  coordinate ascent of the lattice fit and decoded. The search and the decode of a placement
  read the copy at the statistics' 640 x 360 (640 x 480 for 4:3), resampled once from there (at
  the detector's 4 pixels per cell a shrunk or turned copy loses most of its mark), and every
  scale is tried at four half-pixel shifts (a textured photo's copy placed half a pixel off
  reads as chance).
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
  (watermark_inset; mirrored or not), else by correlation; last, inside a sharp border, an
  original turned or cropped before it was inset (the inset scanned as a centred copy, then as a
  turned one, with a lower z gate: SHARP_BORDER, INSIDE_MIN_SCORE). A reading says which of
  these it undid (`WatermarkReading.transform`). Every frame carries the same mark, so speed
  changes and reversal need nothing; a clip inside a longer video is read shot by shot
  (watermark_shots).
  Each search hands the decoder only placements whose z-score clears MIN_SCORE; an inset's
  border windows are decoded ungated, as the whole frame is (INSET_BORDERS), and what a sharp
  border holds at INSIDE_MIN_SCORE (the border has placed it, so far fewer places compete); the
  decoder still demands sync, CRC and the error cap.
- The CRC, the sync bits and a cap on corrected errors reject unmarked clips (no false ids).
- The four corners are left unmarked: the visible label sits in one, and platform logos and
  overlays usually land there.

The modules, in the order a clip meets them:
- watermark (this module): the mark's fixed layout of cells and bits, the detector's view of a
  picture that the embedder inverts, and the embedder (`embed_watermark`).
- watermark_code: the payload's CRC and convolutional code.
- watermark_stats: the luma statistics a reader accumulates frame by frame (`LumaStats`).
- watermark_decode: a copy placed at a geometry: its cells aligned, the placement polished by the
  lattice fit, the bits decoded and checked (`WatermarkReading`).
- watermark_detect: the detection flow that tries each kind of copy in turn (`detect_watermark`,
  `detect_in_stats`), with the helpers it hands the hard cases to: watermark_framing (bars,
  mirrors), watermark_search (crops, insets), watermark_centred (zooms, rotations) and
  watermark_inset (an inset's border).
- watermark_shots: a long upload read shot by shot.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.linalg  # type: ignore[import-untyped]

from provenance.watermark_code import CODED_BITS, ID_BITS, codeword

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
PER_CELL = 4  # averaged luma keeps 4 x 4 pixels per cell
SUPER_SIZE = (GRID_W * PER_CELL, GRID_H * PER_CELL)


@dataclass(frozen=True)
class CellLayout:
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
def cell_layout() -> CellLayout:
    """The grid's fixed, seeded layout, built once per process (shared by embedder and decoder)."""
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
    return CellLayout(
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
    return shrink(shrink(upsampled, *SUPER_SIZE), GRID_W, GRID_H)


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


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
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


def whiten(grid: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """High-pass the cell grid: subtract a (weighted) blur, which holds most of the host image."""
    if weight is None:
        return (grid - _blur(grid)).ravel()
    num, den = _blur(grid * weight), _blur(weight)
    return (grid - num / np.maximum(den, 1e-3)).ravel()


LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601: R, G, B


def rgb_luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB pixels as float32: the mark lives in luma alone."""
    rgb = rgb.astype(np.float32)
    red, green, blue = LUMA_WEIGHTS
    return rgb[..., 0] * red + rgb[..., 1] * green + rgb[..., 2] * blue


def grid_view(luma: np.ndarray) -> np.ndarray:
    """A whole frame's high-passed cell grid: what the embedder aims and the decoder reads."""
    return whiten(shrink(luma, GRID_W, GRID_H))


@functools.lru_cache(maxsize=1)
def sync_bits() -> np.ndarray:
    """The known sync bits appended to every codeword: the decoder's "is a mark here" test."""
    return np.random.default_rng(SEED + 1).integers(0, 2, SYNC_BITS).astype(np.int8)


# -- embedding ---------------------------------------------------------------------------------


def embed_watermark(frames: np.ndarray, clip_id: int) -> None:
    """Embed `clip_id` (32-bit) into `frames` in place ((N, H, W, 3) uint8 RGB), invisibly."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}"
        )
    if not 0 <= clip_id < 1 << ID_BITS:
        raise ValueError(f"clip_id must be a 32-bit unsigned integer, got {clip_id}")
    layout = cell_layout()
    height, width = frames.shape[1:3]
    starts = range(0, frames.shape[0], GROUP_FRAMES)
    # One host view per group of frames (its middle frame).
    views = np.stack(
        [
            grid_view(
                rgb_luma(shrink(frames[min(s + GROUP_FRAMES // 2, len(frames) - 1)], *SUPER_SIZE))
            )[layout.cells]
            for s in starts
        ]
    )
    sizes = np.array([min(GROUP_FRAMES, len(frames) - s) for s in starts], np.float32)
    mean = sizes @ views / sizes.sum()  # the host in the clip's average, which the detector reads
    # QIM: each cell's value in the clip's average view moves to the nearest point of its bit's
    # lattice (bit b: dither + b * STEP + 2 * STEP * k), at most one STEP whatever the photo.
    bits = np.append(codeword(clip_id), sync_bits())[layout.owner].astype(np.float32)
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
    layout: CellLayout, target: np.ndarray, mean: np.ndarray, views: np.ndarray
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
