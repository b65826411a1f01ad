"""Read a clip id from a copy placed at a geometry: align its cells, polish the place, decode.

Every route of the detection flow (watermark_detect) ends here: a guess of where the copy sits in
the original frame (`Geometry`) is turned into the marked cells' high-passed values, polished by
coordinate ascent of the lattice fit over the geometry and the contrast gain, and decoded. A
reading needs sync, CRC and a cap on corrected errors to agree, so a guess that is wrong costs a
decode and only rarely a false id (none in the benches' unmarked clips; each decode has a small
chance, which is why the search ranks placements before it decodes them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from provenance.watermark import (
    BITS,
    GRID_H,
    GRID_W,
    PER_CELL,
    STEP,
    SUPER_SIZE,
    cell_layout,
    grid_view,
    sync_bits,
    whiten,
)
from provenance.watermark_code import CODED_BITS, ID_BITS, codeword, crc16, viterbi

# Where a copy sits in the original frame, in normalised original coordinates: the copy shows
# x in [left, left + width) and y in [top, top + height).
Geometry = tuple[float, float, float, float]  # left, width, top, height
WHOLE: Geometry = (0.0, 1.0, 0.0, 1.0)
MAX_ERROR_SHARE = 0.2  # more hard-decision errors (of the bits seen) and the reading is refused
MIN_SYNC = 0.25  # least mean sync agreement (-1..1) of a reading
MIN_SEEN = 0.5  # least share of coded bits with a visible cell
GAINS = np.geomspace(0.5, 2.0, 140).astype(np.float32)  # contrast changes searched
# A contrast boost by g about mid-grey sends a channel that was between black and 128 (1 - 1/g)
# to between 128 (1 - g) and 0, and clips it at 0 (white likewise). The reader puts a clipped
# channel back at the middle of that range, UNCLIP_REACH (g - 1) levels past the clip: on three
# dark 720p bench clips boosted x1.4 with 64-75 % of their pixels clipped in some channel, the
# cells' departure from the unboosted copy's (times the gain) fell from 2.3-6.9 to 1.4-2.6 levels.
UNCLIP_REACH = 64.0
_ALIGN_SIZE = (GRID_W * 2 * PER_CELL, GRID_H * 2 * PER_CELL)  # a placed copy is warped to this
_REFINE_ROUNDS = 4  # passes over the four geometry axes per step size


@dataclass
class WatermarkReading:
    """What the detector found: the clip id (None when no mark), how sure it is, and how the copy
    differs from the original (the edits undone to read it, in words)."""

    clip_id: int | None
    confidence: float
    bit_errors_corrected: int
    transform: tuple[str, ...] = ()
    unreadable: str | None = None  # why no reading was possible at all (a blank picture)


def aligned_cells(luma: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The marked cells' high-passed values if the copy (`luma`, at any resolution) sits at
    `geometry`, and which are seen."""
    layout = cell_layout()
    if geometry == WHOLE and luma.shape == SUPER_SIZE[::-1]:
        return grid_view(luma)[layout.cells], np.ones(layout.cells.size, np.float32)
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
    values = whiten(grid, weight)
    return values[layout.cells], weight.ravel()[layout.cells]


def _fit(values: np.ndarray, weight: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """How well the values (one row, or one row per gain) sit on the cells' lattices at each
    gain (1: exactly, 0: chance)."""
    phase = (np.atleast_2d(values) / gains[:, None] - cell_layout().dither) * (2 * np.pi / STEP)
    return np.cos(phase) @ weight / max(float(weight.sum()), 1.0)


def best_gain(values: np.ndarray, weight: np.ndarray, gains: np.ndarray) -> tuple[float, float]:
    """The best lattice fit over `gains`, and the contrast gain that gives it."""
    scores = _fit(values, weight, gains)
    index = int(np.argmax(scores))
    return float(scores[index]), float(gains[index])


def unclipped(values: np.ndarray, balance: np.ndarray, gain: float) -> np.ndarray:
    """The cells' values with their clipped channels put back where a contrast boost by `gain`
    most likely found them (`balance`: the cells' high-passed clip balance, LumaStats)."""
    return values + UNCLIP_REACH * max(gain - 1.0, 0.0) * balance


def best_unclipped_gain(
    values: np.ndarray, balance: np.ndarray, weight: np.ndarray, gains: np.ndarray
) -> tuple[float, float]:
    """`best_gain` of the values unclipped at each gain in turn (`unclipped`)."""
    reach = UNCLIP_REACH * np.maximum(gains - 1.0, 0.0)
    scores = _fit(values[None, :] + reach[:, None] * balance[None, :], weight, gains)
    index = int(np.argmax(scores))
    return float(scores[index]), float(gains[index])


def refine(luma: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray, float, Geometry]:
    """Coordinate ascent of the lattice fit over the geometry (and gain) near a first guess."""
    w0, h0 = SUPER_SIZE
    values, weight = aligned_cells(luma, geometry)
    fit, gain = best_gain(values, weight, GAINS)
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
                trial_values, trial_weight = aligned_cells(luma, candidate)
                trial_fit, trial_gain = best_gain(trial_values, trial_weight, near)
                if trial_fit > fit:
                    geometry, values, weight = candidate, trial_values, trial_weight
                    fit, gain, improved = trial_fit, trial_gain, True
    return values, weight, gain, geometry


def decode_cells(values: np.ndarray, weight: np.ndarray, gain: float) -> WatermarkReading:
    """Decode the cells' values at `gain`; a reading only when sync, CRC and error count agree."""
    layout = cell_layout()
    phase = (values / gain - layout.dither) * (np.pi / STEP)
    votes = np.bincount(layout.owner, -np.cos(phase) * weight, BITS)
    seen = np.bincount(layout.owner, weight, BITS)
    soft = votes / np.maximum(seen, 1.0)  # +1 on bit 1's lattice, -1 on bit 0's, 0 unseen
    sync_seen = seen[CODED_BITS:] > 0
    sync = (
        float(np.mean((soft[CODED_BITS:] * (2 * sync_bits() - 1))[sync_seen]))
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


def first_reading(
    luma: np.ndarray, geometries: Iterable[Geometry]
) -> tuple[WatermarkReading, Geometry] | None:
    """The first id read where the copy (`luma`) may sit, each guess polished by the lattice fit
    first, and where it sits."""
    for guess in geometries:
        values, weight, gain, geometry = refine(luma, guess)
        found = decode_cells(values, weight, gain)
        if found.clip_id is not None:
            return found, geometry
    return None
