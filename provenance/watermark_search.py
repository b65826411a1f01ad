"""Where a cropped copy sits in the marked frame: one correlation per scale finds the offset.

A crop of s per side shows 1 - 2s of the frame, scaled back up to some size: in the detector's
normalised coordinates the copy is the window (left, width, top, height) of the original, and a
cell of the mark spans 1 / width of a cell. The detector's lattice fit of one cell is
cos(2 pi (v / g - d) / STEP) = Re(conj(D) z), with v the copy's high-passed value there, g the
contrast gain, d the cell's dither, z = exp(2 pi i v / (g STEP)) and D = exp(2 pi i d / STEP).
So for one scale pair (and one gain) the fit at every offset at once is the cross-correlation of
the copy's dense phase map z with the cells' phasors D placed on their grid: two FFTs. The search
loops over the scale pairs a crop can give (same share on both axes, one axis only, or whatever
keeps the copy's aspect for a few usual original aspects), four half-pixel shifts of the copy
(a textured photo's copy half a pixel off fits no better than chance) and two gains, scores
every offset as a z-score against chance, and hands the best few placements on; the detector
polishes them with its own fit and still demands sync, CRC and the error cap before it believes
an id.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft  # type: ignore[import-untyped]

MIN_SCALE = 0.7  # least share of the original a copy may show on an axis (15 % per side)
# ... unless it is a reframe to another aspect that keeps nearly all of the other axis (a 16:9
# frame cut to a square keeps 56 % of its width and all of its height).
REFRAME_SCALE, REFRAME_KEEPS = 0.5, 0.9
SCALE_STEP = 0.01  # the correlation peak keeps most of its height within half a step
SEARCH_GAINS = (0.86, 0.97)  # resampling and re-encoding soften the mark by 3-15 %
USUAL_ASPECTS = (16 / 9, 9 / 16, 1.0, 4 / 3, 3 / 4)  # originals whose aspect a kept crop implies
INSET_SCALE = 0.5  # least share of a copy's width and height an original shown inside it fills
INSET_GAINS = SEARCH_GAINS[:1]  # an inset's larger correlations are searched at one gain
# z-score worth a decode. An unmarked clip's best placement over the four mirrors scores 5.07 +-
# 0.37, max 5.80 (30 of the bench's unrelated clips; 4.90 +- 0.30, max 5.70 with the mark's step
# at 3 and 320x180 statistics): a few in a hundred hand the decoder a placement, which costs a
# decode, not a false id (CRC-16, 24 sync bits and the error cap refuse it). Lowering it to reach
# the marks that score 4-5 (textured photos off their exact place) would decode most strangers.
MIN_SCORE = 5.5
MIN_COVER = 0.4  # least share of the marked cells a placement must show
_DISTINCT = 0.015  # placements closer than this (normalised) are one
# Sub-pixel placements tried per scale, in super-sampled pixels (an eighth of a cell): on textured
# photos a copy's cell values move by more than the QIM step when it sits half a pixel off, and
# its peak (z 9) sinks to chance (z 3-4); a quarter of a pixel off keeps most of it.
SHIFTS = ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5))


@dataclass(frozen=True)
class Placement:
    """Where the copy may sit: (left, width, top, height) in normalised original coordinates."""

    geometry: tuple[float, float, float, float]
    gain: float
    score: float  # z-score of the lattice fit against chance


class CellTemplate:
    """The marked cells' dither phasors on the detector's super-sampled grid, ready to correlate."""

    def __init__(
        self,
        cells: np.ndarray,
        dither: np.ndarray,
        grid: tuple[int, int],
        per_cell: int,
        step: float,
        whiten_sigma: float,
    ) -> None:
        grid_w, grid_h = grid
        self.per_cell, self.step, self.whiten_sigma = per_cell, step, whiten_sigma
        self.width, self.height = grid_w * per_cell, grid_h * per_cell
        rows, cols = np.divmod(cells, grid_w)
        # Offsets run from -1 to (1 - scale) * size + 1 pixels, so a circular correlation on the
        # frame's own canvas never wraps a shifted copy onto a cell (both stay inside it).
        self.canvas = (self.height, self.width)
        phasors = np.zeros(self.canvas, np.complex64)
        phasors[rows * per_cell, cols * per_cell] = np.exp(2j * np.pi * dither / step)
        self.phasors = phasors
        self.spectrum = scipy.fft.fft2(phasors)
        marked = np.zeros((grid_h, grid_w), np.int32)
        marked[rows, cols] = 1
        self.prefix = np.pad(marked.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        self.cells = cells.size
        self.cell_index, self.dither, self.grid = cells, dither.astype(np.float32), grid

    def covered(
        self, offsets_x: np.ndarray, offsets_y: np.ndarray, size: tuple[int, int]
    ) -> np.ndarray:
        """Marked cells wholly inside a (width, height) copy at each (offset_y, offset_x)."""
        pc = self.per_cell
        lo_x = np.clip(-(-offsets_x // pc), 0, None)  # first cell whose corner is in the copy
        hi_x = np.clip((offsets_x + size[0] - pc) // pc + 1, 0, self.prefix.shape[1] - 1)
        lo_y = np.clip(-(-offsets_y // pc), 0, None)
        hi_y = np.clip((offsets_y + size[1] - pc) // pc + 1, 0, self.prefix.shape[0] - 1)
        hi_x, lo_x = np.maximum(hi_x, lo_x), np.minimum(lo_x, self.prefix.shape[1] - 1)
        hi_y, lo_y = np.maximum(hi_y, lo_y), np.minimum(lo_y, self.prefix.shape[0] - 1)
        p = self.prefix
        return (
            p[hi_y[:, None], hi_x[None, :]]
            - p[lo_y[:, None], hi_x[None, :]]
            - p[hi_y[:, None], lo_x[None, :]]
            + p[lo_y[:, None], lo_x[None, :]]
        )


def scale_pairs(aspect: float | None) -> list[tuple[float, float]]:
    """(horizontal, vertical) shares of the original a crop may show, given the copy's aspect.

    Always the same share on both axes (any crop that keeps the aspect, scaled to any size).
    With the copy's aspect: crops kept at their own pixels, for the usual original aspects
    (cutting only the top of a 16:9 frame gives (1, s)), reframes to another aspect included.
    Without it: one axis cut and the copy stretched back to the original's size.
    """
    steps = round((1 - REFRAME_SCALE) / SCALE_STEP)
    scales = [1 - i * SCALE_STEP for i in range(steps + 1)]
    pairs = {(s, s) for s in scales}
    for s in scales:
        if aspect is None:
            pairs |= {(s, 1.0), (1.0, s)}
            continue
        for original in USUAL_ASPECTS:
            # Width share / height share = the copy's aspect / the original's.
            pairs |= {(s, s * original / aspect), (s * aspect / original, s)}
    return sorted(
        (pair for pair in pairs if _searched(*pair, reframe=aspect is not None)), reverse=True
    )


def _searched(sx: float, sy: float, reframe: bool) -> bool:
    low, high = min(sx, sy), max(sx, sy)
    if high > 1 + 1e-9:
        return False
    if low >= MIN_SCALE - 1e-9:
        return True
    return reframe and low >= REFRAME_SCALE - 1e-9 and high >= REFRAME_KEEPS - 1e-9


def placements(
    luma: np.ndarray,
    template: CellTemplate,
    aspect: float | None,
    limit: int = 3,
) -> list[Placement]:
    """The `limit` likeliest distinct placements of a copy (its super-sampled mean luma) that
    score at least MIN_SCORE."""
    found: list[Placement] = []
    pairs = scale_pairs(aspect)
    sizes = {(round(sx * template.width), round(sy * template.height)) for sx, sy in pairs}
    for size in sorted(sizes, reverse=True):
        found.extend(_best_offsets(luma, template, size, SEARCH_GAINS))
    return distinct(found, limit, MIN_SCORE)


def distinct(found: list[Placement], limit: int, min_score: float) -> list[Placement]:
    """The best `limit` placements scoring at least `min_score`, no two of them the same."""
    found.sort(key=lambda p: -p.score)
    chosen: list[Placement] = []
    for candidate in found:
        if candidate.score < min_score or len(chosen) == limit:
            break
        if all(
            max(abs(a - b) for a, b in zip(candidate.geometry, c.geometry, strict=True)) > _DISTINCT
            for c in chosen
        ):
            chosen.append(candidate)
    return chosen


def fill_share(angle: float, aspect: float) -> float:
    """The share of each axis of the original that a copy rotated by `angle` degrees and zoomed
    just enough to fill its frame (of `aspect`, width / height) shows."""
    turn = np.radians(abs(angle))
    return float(1 / (np.cos(turn) + np.sin(turn) * max(aspect, 1 / aspect)))


def _best_offsets(
    luma: np.ndarray, template: CellTemplate, size: tuple[int, int], gains: tuple[float, ...]
) -> list[Placement]:
    """The best offset, per search gain and sub-pixel shift, of the copy scaled to `size`."""
    width, height = size
    scaled = _resized(luma, size)
    offsets_x = np.arange(-1, template.width - width + 2)
    offsets_y = np.arange(-1, template.height - height + 2)
    cover = template.covered(offsets_x, offsets_y, size)
    usable = cover >= MIN_COVER * template.cells
    if not usable.any():
        return []
    norm = np.sqrt(np.maximum(cover, 1) / 2)  # each cell's cosine has variance 1/2 by chance
    rows, cols = offsets_y % template.canvas[0], offsets_x % template.canvas[1]
    phase_map = np.zeros(template.canvas, np.complex64)
    out = []
    for shift_x, shift_y in SHIFTS:
        # The copy moved right and down by the shift: its corner sits at offset + shift.
        values = _cell_values(_shifted(scaled, shift_x, shift_y), template)
        for gain in gains:
            phase = values * np.float32(2 * np.pi / (gain * template.step))
            phase_map[: values.shape[0], : values.shape[1]] = np.cos(phase) + 1j * np.sin(phase)
            fit = scipy.fft.ifft2(template.spectrum * np.conj(scipy.fft.fft2(phase_map))).real
            scores = np.where(usable, fit[np.ix_(rows, cols)] / norm, -np.inf)
            iy, ix = np.unravel_index(int(np.argmax(scores)), scores.shape)
            dx, dy = _vertex(scores[iy, ix - 1 : ix + 2]), _vertex(scores[iy - 1 : iy + 2, ix])
            out.append(
                Placement(
                    (
                        (offsets_x[ix] + dx + shift_x) / template.width,
                        width / template.width,
                        (offsets_y[iy] + dy + shift_y) / template.height,
                        height / template.height,
                    ),
                    gain,
                    float(scores[iy, ix]),
                )
            )
    return out


def inset_placements(
    luma: np.ndarray, template: CellTemplate, limit: int = 3, min_score: float = MIN_SCORE
) -> list[Placement]:
    """Where an original shown inside a larger picture (picture in picture) may sit.

    The original, of the copy's aspect, fills a share from 1 down to INSET_SCALE of the copy's
    width and height; per share, the copy is scaled so the original spans the template and one
    correlation scores every place it may sit. Geometries then have widths over 1.
    """
    found: list[Placement] = []
    steps = round((1 - INSET_SCALE) / SCALE_STEP)
    for i in range(1, steps + 1):
        share = 1 - i * SCALE_STEP
        size = (round(template.width / share), round(template.height / share))
        found.extend(_best_insets(luma, template, size))
    return distinct(found, limit, min_score)


def _best_insets(
    luma: np.ndarray, template: CellTemplate, size: tuple[int, int]
) -> list[Placement]:
    """The best place, per search gain and sub-pixel shift, of the whole original inside the
    copy scaled to `size`."""
    width, height = size
    scaled = _resized(luma, size)
    pc = template.per_cell
    canvas = (
        scipy.fft.next_fast_len(height - pc + 1),
        scipy.fft.next_fast_len(width - pc + 1),
    )
    phasors = np.zeros(canvas, np.complex64)
    phasors[: template.height, : template.width] = template.phasors
    spectrum = np.conj(scipy.fft.fft2(phasors))
    norm = np.sqrt(template.cells / 2)  # every marked cell is inside: full cover
    places = (height - template.height + 1, width - template.width + 1)
    phase_map = np.zeros(canvas, np.complex64)
    out = []
    for shift_x, shift_y in SHIFTS:
        # The copy moved right and down by the shift: the original's corner sits at place - shift.
        values = _cell_values(_shifted(scaled, shift_x, shift_y), template)
        for gain in INSET_GAINS:
            phase = values * np.float32(2 * np.pi / (gain * template.step))
            phase_map[: values.shape[0], : values.shape[1]] = np.cos(phase) + 1j * np.sin(phase)
            fit = scipy.fft.ifft2(scipy.fft.fft2(phase_map) * spectrum).real
            scores = fit[: places[0], : places[1]] / norm
            iy, ix = np.unravel_index(int(np.argmax(scores)), scores.shape)
            dx, dy = _vertex(scores[iy, ix - 1 : ix + 2]), _vertex(scores[iy - 1 : iy + 2, ix])
            out.append(
                Placement(
                    (
                        -(ix + dx - shift_x) / template.width,
                        width / template.width,
                        -(iy + dy - shift_y) / template.height,
                        height / template.height,
                    ),
                    gain,
                    float(scores[iy, ix]),
                )
            )
    return out


def _resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` at (width, height) `size`: area averages when shrinking, linear when enlarging
    (OpenCV's area mode enlarges by repeating pixels, which puts cells off by a pixel)."""
    shrinks = size[0] <= image.shape[1] and size[1] <= image.shape[0]
    mode = cv2.INTER_AREA if shrinks else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=mode)


def _shifted(image: np.ndarray, shift_x: float, shift_y: float) -> np.ndarray:
    """`image` moved right and down by a fraction of a pixel (edges repeated)."""
    if not shift_x and not shift_y:
        return image
    move = np.float32([[1, 0, shift_x], [0, 1, shift_y]])
    size = (image.shape[1], image.shape[0])
    return cv2.warpAffine(
        image, move, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _cell_values(scaled: np.ndarray, template: CellTemplate) -> np.ndarray:
    """Cell means at every pixel offset of the copy (scaled to the template's pixels),
    high-passed as the detector's cell grid would be."""
    height, width = scaled.shape
    pc = template.per_cell
    means = cv2.boxFilter(scaled, -1, (pc, pc), anchor=(0, 0), borderType=cv2.BORDER_REFLECT)
    means = means[: height - pc + 1, : width - pc + 1]
    sigma = template.whiten_sigma * pc
    kernel = 2 * int(np.ceil(3 * sigma)) + 1  # OpenCV's own choice (8 sigma) costs a third more
    return means - cv2.GaussianBlur(means, (kernel, kernel), sigma, borderType=cv2.BORDER_REFLECT)


def _vertex(three: np.ndarray) -> float:
    """Sub-pixel offset of a peak from its two neighbours (a parabola's vertex), 0 at an edge."""
    if three.size != 3 or not np.isfinite(three).all():
        return 0.0
    left, mid, right = (float(x) for x in three)
    curve = left - 2 * mid + right
    return 0.0 if curve >= 0 else float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5))
