"""Picture in picture: where an original shown inside another picture sits, found by its border.

The correlation search (watermark_search.inset_placements) steps an eighth of a cell and 1 % of
scale, and on a textured photo the lattice fit's peak is a tenth of a cell wide: the eval clips
that it missed at 50 % and 70 % (CRF 28, 720p) scored z 7-15 at their true place and z 2-4 a
tenth of a cell off, under the noise of 50 scales x 4 shifts. Their border is easy to see,
though: the inset stands still while both pictures move, so in the clip's mean luma its four
sides are long, straight, sharp edges, and the pictures' own edges are blurred by their motion.
Each side is found to about a tenth of a pixel of the 640 x 360 statistics (a fiftieth of a cell
at half size), close enough for the detector's lattice-fit polish.

The search: at half size, every rectangle of the original's aspect filling at least INSET_SCALE
of the frame is scored by its weakest side's mean gradient (capped, so that one strong edge of
the picture cannot make a side; the cap has a floor, or a mostly flat frame would cap it at 0),
from running sums along rows and columns (6 ms per aspect).
Each side of the best is then placed at full size by the peak of its gradient profile; a side
that breaks the original's shape (a strong edge of the picture just inside it) is moved to where
the other three put it. An inset's border also says how sure it is (`Inset.sharpness`): only
inside a sharp one does the detector look for an original turned or cropped before it was shown.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from provenance.watermark_search import INSET_SCALE

GRADIENT_CAP = 3.0  # a pixel's gradient counts up to this many times the frame's median
MIN_MEDIAN_GRADIENT = 1.0  # grey levels: the cap's floor, where most of the frame is flat
EDGE_REACH = 3  # full-size pixels either side of the half-size border searched for the edge
# Full-size pixels an inset's height may differ from its width times the original's shape (the
# copy rounds the inset to whole, often even, pixels) before the side that breaks it is moved.
SHAPE_SLACK = 1.0
_DISTINCT = 4  # half-size pixels: rectangles whose sides all lie this close are one
_SIDE_INSET = 2  # full-size pixels cut off each end of a side (the corners blur both edges)

Window = tuple[float, float, float, float]  # (left, width, top, height) of the original
Sides = tuple[float, float, float, float]  # (left, right, top, bottom) in the copy's pixels


class Inset(NamedTuple):
    """A rectangle found by its border: the window of the original the copy shows if the inset
    is the whole original (widths over 1), the inset's sides in the copy's pixels (left, right,
    top, bottom), and how sharp its weakest side is (0..1 of the gradient cap)."""

    window: Window
    sides: Sides
    sharpness: float

    def picture(self, mean: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """What the inset shows, cut out of `mean` at its own size in `mean`'s pixels, `margin`
        pixels inside its border (its lines blend with what surrounds it)."""
        left, right, top, bottom = self.sides
        left, right, top, bottom = left + margin, right - margin, top + margin, bottom - margin
        width, height = max(round(right - left), 2), max(round(bottom - top), 2)
        # Output pixel x samples `mean` at left + (x + 0.5) * (right - left) / width - 0.5.
        scale_x, scale_y = (right - left) / width, (bottom - top) / height
        inverse = np.array(
            [
                [scale_x, 0, left + 0.5 * scale_x - 0.5],
                [0, scale_y, top + 0.5 * scale_y - 0.5],
            ],
            np.float32,
        )
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(
            mean.astype(np.float32),
            inverse,
            (width, height),
            flags=flags,
            borderMode=cv2.BORDER_REFLECT,
        )


def inset_windows(mean: np.ndarray, ratios: tuple[float, ...], limit: int) -> list[Inset]:
    """Where an original shown inside the copy (`mean`, its mean luma) likeliest sits, best first.

    `ratios` are the inset's height over its width in `mean`'s pixels, one per original aspect
    tried."""
    mean = mean.astype(np.float32)
    half = _halved(mean)
    boxes = [(*box, ratio) for ratio in ratios for box in _best_boxes(half, ratio, limit)]
    boxes.sort(key=lambda box: -box[0])
    chosen: list[tuple[float, int, int, int, int, float]] = []
    for score, left, right, top, bottom, ratio in boxes:
        if len(chosen) == limit:
            break
        sides = (left, right, top, bottom)
        if all(
            max(abs(a - b) for a, b in zip(sides, c[1:5], strict=True)) > _DISTINCT for c in chosen
        ):
            chosen.append((score, left, right, top, bottom, ratio))
    return [
        _placed(mean, score, ratio, 2 * left, 2 * right, 2 * top, 2 * bottom)
        for score, left, right, top, bottom, ratio in chosen
    ]


def _halved(image: np.ndarray) -> np.ndarray:
    """`image` at half size, each pixel the mean of a 2 x 2 block (odd edges dropped)."""
    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    blocks = image[:height, :width].reshape(height // 2, 2, width // 2, 2)
    return blocks.mean(axis=(1, 3))


def _best_boxes(
    image: np.ndarray, ratio: float, limit: int
) -> list[tuple[float, int, int, int, int]]:
    """(sharpness, left, right, top, bottom) of the best rectangle per size whose height is `ratio`
    of its width, the `limit` x 4 best sizes kept; sides are pixel boundaries (column `left`
    starts the inset), all strictly inside the frame."""
    height, width = image.shape
    across = np.abs(np.diff(image, axis=1))  # (H, W - 1): between columns x and x + 1
    down = np.abs(np.diff(image, axis=0))  # (H - 1, W)
    median = float(np.median(np.concatenate([across.ravel(), down.ravel()])))
    cap = GRADIENT_CAP * max(median, MIN_MEDIAN_GRADIENT)  # a mostly flat frame's median is 0
    across, down = np.minimum(across, cap), np.minimum(down, cap)
    column_runs = np.zeros((height + 1, width - 1), np.float32)
    np.cumsum(across, axis=0, out=column_runs[1:])
    row_runs = np.zeros((height - 1, width + 1), np.float32)
    np.cumsum(down, axis=1, out=row_runs[:, 1:])
    found = []
    for w in range(2, width - 1):
        for h in sorted({int(np.floor(w * ratio)), int(np.ceil(w * ratio))}):
            lefts, tops = width - w - 1, height - h - 1  # sides at 1 .. width - 1 - w etc.
            if h < 2 or lefts < 1 or tops < 1 or max(w / width, h / height) < INSET_SCALE:
                continue
            # Mean gradient of each side, for every (top, left) at once.
            vertical = (column_runs[h:] - column_runs[:-h])[1 : 1 + tops] / h  # rows t .. t + h
            horizontal = (row_runs[:, w:] - row_runs[:, :-w])[:, 1 : 1 + lefts] / w
            weakest = np.minimum(
                np.minimum(vertical[:, :lefts], vertical[:, w : w + lefts]),
                np.minimum(horizontal[:tops], horizontal[h : h + tops]),
            )
            top, left = np.unravel_index(int(np.argmax(weakest)), weakest.shape)
            found.append(
                (
                    float(weakest[top, left]) / cap,
                    int(left) + 1,
                    int(left) + 1 + w,
                    int(top) + 1,
                    int(top) + 1 + h,
                )
            )
    found.sort(key=lambda box: -box[0])
    return found[: 4 * limit]


def _placed(
    image: np.ndarray, sharpness: float, ratio: float, left: int, right: int, top: int, bottom: int
) -> Inset:
    """The inset near the half-size guess, each side placed at its edge's peak (a parabola
    through the strongest boundary and its two neighbours), of the shape `ratio` says."""
    height, width = image.shape
    across = np.abs(np.diff(image, axis=1))
    down = np.abs(np.diff(image, axis=0))
    rows = slice(top + _SIDE_INSET, bottom - _SIDE_INSET)
    columns = slice(left + _SIDE_INSET, right - _SIDE_INSET)
    # Boundary b lies between pixels b - 1 and b: gradient index b - 1.
    profile_x = across[rows].mean(axis=0)
    profile_y = down[:, columns].mean(axis=1)
    sides = (
        _edge(profile_x, left),
        _edge(profile_x, right),
        _edge(profile_y, top),
        _edge(profile_y, bottom),
    )
    shown_left, shown_right, shown_top, shown_bottom = _shaped(sides, ratio, profile_x, profile_y)
    span_x, span_y = shown_right - shown_left, shown_bottom - shown_top
    window = (-shown_left / span_x, width / span_x, -shown_top / span_y, height / span_y)
    return Inset(window, (shown_left, shown_right, shown_top, shown_bottom), sharpness)


def _shaped(sides: Sides, ratio: float, profile_x: np.ndarray, profile_y: np.ndarray) -> Sides:
    """`sides` if they have the inset's shape (height `ratio` of width, within SHAPE_SLACK);
    else, of the four boxes that move one side to where the other three put it, the one whose
    weakest side is strongest. A strong edge just inside the inset (a photo's dark shore along
    its bottom) can outshine the inset's own side within EDGE_REACH; the other three are right."""
    left, right, top, bottom = sides
    height, width = ratio * (right - left), (bottom - top) / ratio
    if abs(bottom - top - height) <= SHAPE_SLACK:
        return sides
    moved: list[Sides] = [
        (left, right, top, _edge(profile_y, round(top + height), 1)),
        (left, right, _edge(profile_y, round(bottom - height), 1), bottom),
        (left, _edge(profile_x, round(left + width), 1), top, bottom),
        (_edge(profile_x, round(right - width), 1), right, top, bottom),
    ]

    def weakest(box: Sides) -> float:
        strengths = [_strength(profile_x, side) for side in box[:2]]
        return min(strengths + [_strength(profile_y, side) for side in box[2:]])

    return max(moved, key=weakest)


def _strength(profile: np.ndarray, boundary: float) -> float:
    """The gradient at a (fractional) boundary: the stronger of the two whole ones beside it."""
    low, high = int(np.floor(boundary)), int(np.ceil(boundary))
    inside = [profile[b - 1] for b in (low, high) if 1 <= b <= profile.size]
    return float(max(inside, default=0.0))


def _edge(profile: np.ndarray, guess: int, reach: int = EDGE_REACH) -> float:
    """The boundary within `reach` of `guess` where `profile` (gradient index b - 1 for boundary
    b) peaks."""
    guess = min(max(guess, 1), profile.size)  # a side another three put past the frame's edge
    first = max(1, guess - reach)
    last = min(profile.size, guess + reach)  # boundaries first .. last
    near = profile[first - 1 : last]
    peak = int(np.argmax(near))
    offset = 0.0
    if 0 < peak < near.size - 1:
        before, at, after = (float(v) for v in near[peak - 1 : peak + 2])
        curve = before - 2 * at + after
        offset = 0.5 * (before - after) / curve if curve < 0 else 0.0
    return first + peak + offset
