"""Copies that keep the original's centre: a fine scan of zooms, where the crop search is too coarse.

Editors zoom, crop evenly, rotate and letterbox about the frame's centre. Such a copy is the
window (left, width, top, height) = ((1 - w) / 2, w, (1 - h) / 2, h) of the original, one
unknown zoom per original aspect, so the zoom can be scanned in steps fine enough for the lattice
fit. Why that matters: on a textured photo the fit's peak is about a fortieth of a cell wide in
offset and 0.1-0.2 % wide in scale (bike-riders cropped 10 % then CRF 28: z 7.8 at its place,
4.7-5.4 a tenth of a super-sampled pixel off, 3.2 at 0.2 % of scale), while the crop search
steps an eighth of a cell and 1 %, and lands on noise. Scanning centred zooms in 0.2 % steps
finds it (z 9-13 on bike-riders and boats cropped 10 % or rotated 3°; 3.7-4.2 on the same
copies unmarked). A smooth +-1 sync pattern (not QIM) was measured first and lost: on
bike-riders after CRF 28, at 0.8-1.4 dB of PSNR, its correlation scored z 1.7-5.3 where chance
peaked at 3.6-4.7 within a single scale (the host's high-passed cells vary by 20 levels).

Every zoom is scored at once: the copy's cell means for all zooms come from its running sums
along each axis (the cells are axis-aligned boxes of the copy), then the detector's weighted
high-pass and the lattice fit over a few gains. 151 zooms cost 55 ms of CPU at the statistics'
640 x 360 and 31 ms at 320 x 180, where the detector's own warp costs about 1.3 ms per zoom.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from provenance.watermark_search import CellTemplate, Placement, distinct

ZOOM_STEP = 0.002  # the fit keeps 80-90 % of its peak a step off (bike-riders: z 9.0 -> 7.2-8.8)
MIN_ZOOM = 0.7  # least share of an axis kept (15 % per side, or a rotation plus a crop)
# Gains scanned: re-encoding and resampling soften the mark by 3-15 %. 12 steps of 2.3 %: the best
# placements' z on the eval photos' crops and rotations moved by 0-0.6 from 28 steps of 1 %.
SCAN_GAINS = np.geomspace(0.8, 1.05, 12).astype(np.float32)
# z-score worth a decode. Over the bench's 60 unrelated clips (--quick's set: crops, mirrors, bars,
# rotations, insets, siblings), an unmarked clip's best centred zoom scored 3.52 +- 0.49 (max 4.81)
# over the four mirrors unturned, and 4.02 +- 0.41 (max 5.16) over 40 turned scans (half degrees
# to 5°, two mirrors); marked eval clips cropped or rotated after CRF 28 score 7.3-18. A placement
# over it costs a decode, not a false id: the decoder's CRC, sync bits and error cap guard ids.
CENTRED_MIN_SCORE = 5.5


def zoom_shares(
    aspect: float, originals: tuple[float, ...], low: float = MIN_ZOOM, high: float = 1.0
) -> np.ndarray:
    """(Z, 2) (width, height) shares of the original a centred copy of `aspect` may show.

    Per original aspect, the smaller share runs from `high` down to `low`; the other follows from
    the aspects (a 16:9 original letterboxed into 4:3 shows all its width and 4/3 of its height).
    """
    zooms = np.arange(high, low - 1e-9, -ZOOM_STEP)
    rows = []
    kept: list[float] = []
    for original in sorted(originals, reverse=True):
        # Aspects within half a percent scan the same windows (854 x 480 is 16:9, near enough).
        if kept and original > kept[-1] / 1.005:
            continue
        kept.append(original)
        ratio = original / aspect  # height share / width share
        widen = np.stack([zooms, zooms * ratio], axis=1)  # bars above and below, or none
        tallen = np.stack([zooms / ratio, zooms], axis=1)  # bars left and right
        rows.append(widen if ratio >= 1 else tallen)
    return np.unique(np.round(np.concatenate(rows), 6), axis=0)[::-1]


def centred_placements(
    luma: np.ndarray,
    template: CellTemplate,
    shares: np.ndarray,
    limit: int,
    min_score: float = CENTRED_MIN_SCORE,
) -> list[Placement]:
    """The `limit` likeliest distinct centred placements of the copy `luma` (its whole frame,
    at any resolution) among `shares` (see zoom_shares), scored by the lattice fit's z-score."""
    left = (1 - shares[:, 0]) / 2
    top = (1 - shares[:, 1]) / 2
    values, weight = _cell_views(
        luma.astype(np.float32), template, left, shares[:, 0], top, shares[:, 1]
    )
    phase = values[:, None, :] / SCAN_GAINS[None, :, None] - template.dither[None, None, :]
    fit = np.einsum("zgc,zc->zg", np.cos(phase * np.float32(2 * np.pi / template.step)), weight)
    seen = weight.sum(axis=1)
    scores = fit / np.sqrt(np.maximum(seen, 1.0) / 2)[:, None]  # chance: variance 1/2 per cell
    scores[seen < 0.4 * template.cells] = -np.inf
    best = scores.argmax(axis=1)
    found = [
        Placement(
            (float(left[z]), float(shares[z, 0]), float(top[z]), float(shares[z, 1])),
            float(SCAN_GAINS[best[z]]),
            float(scores[z, best[z]]),
        )
        for z in range(len(shares))
    ]
    return distinct(found, limit, min_score)


def _cell_views(
    luma: np.ndarray,
    template: CellTemplate,
    left: np.ndarray,
    width: np.ndarray,
    top: np.ndarray,
    height: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The marked cells' high-passed means (Z, C) if the copy shows each (left, width, top,
    height) window of the original, and which cells lie wholly inside the copy (Z, C)."""
    grid_w, grid_h = template.grid
    copy_h, copy_w = luma.shape
    # Cell edges in the copy's pixels (pixel k spans [k, k + 1)), for every window.
    edges_x = ((np.arange(grid_w + 1) / grid_w)[None, :] - left[:, None]) / width[:, None] * copy_w
    edges_y = ((np.arange(grid_h + 1) / grid_h)[None, :] - top[:, None]) / height[:, None] * copy_h
    inside_x = (edges_x[:, :-1] >= -1e-6) & (edges_x[:, 1:] <= copy_w + 1e-6)
    inside_y = (edges_y[:, :-1] >= -1e-6) & (edges_y[:, 1:] <= copy_h + 1e-6)
    sums = _box_sums(luma, edges_x, edges_y)  # (Z, grid_h, grid_w)
    area = np.diff(edges_y, axis=1)[:, :, None] * np.diff(edges_x, axis=1)[:, None, :]
    means = sums / np.maximum(area, 1e-6)
    weight = (inside_y[:, :, None] & inside_x[:, None, :]).astype(np.float32)
    blur_x, blur_y = _blur_matrices(template.grid, template.whiten_sigma)
    smooth = blur_y @ (means * weight) @ blur_x.T
    cover = blur_y @ weight @ blur_x.T
    values = (means - smooth / np.maximum(cover, 1e-3)).reshape(len(left), -1)
    flat_weight = weight.reshape(len(left), -1)
    return (
        values[:, template.cell_index].astype(np.float32),
        flat_weight[:, template.cell_index],
    )


def _box_sums(luma: np.ndarray, edges_x: np.ndarray, edges_y: np.ndarray) -> np.ndarray:
    """(Z, grid_h, grid_w) sums of the copy over each window's cells, between fractional edges
    (Z, grid_w + 1) and (Z, grid_h + 1): running sums read between pixels (pixels are constant
    unit boxes), along the rows and then down the columns, each in one OpenCV remap."""
    copy_h, copy_w = luma.shape
    zooms, grid_w, grid_h = len(edges_x), edges_x.shape[1] - 1, edges_y.shape[1] - 1
    along = np.zeros((copy_h, copy_w + 1), np.float32)
    np.cumsum(luma, axis=1, out=along[:, 1:])
    at_x = np.clip(edges_x, 0, copy_w).astype(np.float32).reshape(1, -1)
    rows = np.arange(copy_h, dtype=np.float32)[:, None]
    read = _remap(along, np.broadcast_to(at_x, (copy_h, at_x.size)), rows + 0 * at_x)
    row_sums = np.diff(read.reshape(copy_h, zooms, grid_w + 1), axis=2).reshape(copy_h, -1)
    down = np.zeros((copy_h + 1, row_sums.shape[1]), np.float32)
    np.cumsum(row_sums, axis=0, out=down[1:])
    at_y = np.repeat(np.clip(edges_y, 0, copy_h).astype(np.float32).T, grid_w, axis=1)
    columns = np.arange(row_sums.shape[1], dtype=np.float32)[None, :]
    read = _remap(down, columns + 0 * at_y, at_y)  # (grid_h + 1, Z * grid_w)
    return np.diff(read, axis=0).reshape(grid_h, zooms, grid_w).transpose(1, 0, 2)


def _remap(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """`image` read at (map_x, map_y), linearly between pixels, in pieces OpenCV accepts."""
    width = 32_000  # OpenCV's maps must stay under 32767 a side
    pieces = [
        cv2.remap(
            image,
            np.ascontiguousarray(map_x[:, i : i + width]),
            np.ascontiguousarray(map_y[:, i : i + width]),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        for i in range(0, map_x.shape[1], width)
    ]
    return np.concatenate(pieces, axis=1)


@functools.lru_cache(maxsize=4)
def _blur_matrices(grid: tuple[int, int], sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The detector's Gaussian blur of the cell grid (reflected edges) as one matrix per axis."""
    grid_w, grid_h = grid

    def along(size: int) -> np.ndarray:
        eye = np.eye(size, dtype=np.float32)
        return cv2.GaussianBlur(eye, (0, 0), sigma, borderType=cv2.BORDER_REFLECT, sigmaY=1e-6)

    return along(grid_w).T, along(grid_h).T
