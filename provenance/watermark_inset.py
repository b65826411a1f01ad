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
from running sums along rows and columns (6 ms per aspect). An inset flush with the frame's edge
(set in a corner) has no border there; such boxes are judged by their other sides, and only by
how far those stand above the lines beside them (a line through a textured still picture is as
strong as a border, but not stronger than its neighbours). That measure also adds one window
inside the frame: a picture with straight lines of its own can make boxes of two of the inset's
sides and two of its lines that outrank the inset by gradient alone.
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
# A box flush with the frame's edge is judged by how far its other sides' gradients stand above
# the lines STEP_REACH half-size pixels off, over the cap: true flush insets of 13 eval photos at
# CRF 28 stood 0.13-0.51 above them (a 480 x 270 one at CRF 18, 0.09), copies without an inset
# and copies with one inside the frame at most 0.07.
STEP_REACH = 2
FLUSH_STEP = 0.08
# A flush box shows fewer sides than one inside the frame, so it ranks below one that is nearly as
# sharp: a 4:3 copy's letterbox edge inside an inset made a flush box of three true sides (0.91)
# that outranked the inset itself (0.89); true flush insets scored 0.89-1.0, the boxes they must
# beat 0.16-0.78.
FLUSH_MARGIN = 0.05
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
    """Where an original shown inside the copy (`mean`, its mean luma) likeliest sits: the
    `limit` sharpest borders, best first, then the border that stands out most above the lines
    beside it when it is not among them (so up to `limit` + 1 windows).

    `ratios` are the inset's height over its width in `mean`'s pixels, one per original aspect
    tried."""
    mean = mean.astype(np.float32)
    half = _halved(mean)
    boxes, standouts = [], []
    for ratio in ratios:
        ranked, standout = _best_boxes(half, ratio, limit)
        boxes += [(*box, ratio) for box in ranked]
        if standout is not None:
            standouts.append((*standout, ratio))
    boxes.sort(key=lambda box: -box[0])
    chosen: list[tuple[float, int, int, int, int, float]] = []

    def distinct(sides: tuple[int, ...]) -> bool:
        return all(
            max(abs(a - b) for a, b in zip(sides, c[1:5], strict=True)) > _DISTINCT for c in chosen
        )

    for score, left, right, top, bottom, ratio in boxes:
        if len(chosen) == limit:
            break
        if distinct((left, right, top, bottom)):
            chosen.append((score, left, right, top, bottom, ratio))
    if standouts:  # one more: the box whose sides stand out most above the lines beside them
        _, score, left, right, top, bottom, ratio = max(standouts)
        if distinct((left, right, top, bottom)):
            chosen.append((score, left, right, top, bottom, ratio))
    height, width = mean.shape
    # A side on the half-size frame's edge is on the full frame's (an odd last line is dropped).
    return [
        _placed(
            mean,
            score,
            ratio,
            (2 * left, width if right == half.shape[1] else 2 * right),
            (2 * top, height if bottom == half.shape[0] else 2 * bottom),
        )
        for score, left, right, top, bottom, ratio in chosen
    ]


def _halved(image: np.ndarray) -> np.ndarray:
    """`image` at half size, each pixel the mean of a 2 x 2 block (odd edges dropped)."""
    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    blocks = image[:height, :width].reshape(height // 2, 2, width // 2, 2)
    return blocks.mean(axis=(1, 3))


_HalfBox = tuple[float, int, int, int, int]  # (sharpness, left, right, top, bottom) at half size


def _best_boxes(
    image: np.ndarray, ratio: float, limit: int
) -> tuple[list[_HalfBox], tuple[float, float, int, int, int, int] | None]:
    """(sharpness, left, right, top, bottom) of the best rectangle per size whose height is `ratio`
    of its width, the `limit` x 4 best kept; sides are pixel boundaries (column `left` starts the
    inset), inside the frame or on its edge.

    A side on the frame's edge has no border to see (an inset set flush with a corner, as
    reaction videos do), so such a box is judged by its other sides alone, and by more than their
    gradient: a line through a textured still picture has as strong a gradient as a border, but
    no stronger than the lines STEP_REACH away. A flush box is kept only where its sides stand out
    that way by FLUSH_STEP and more than any box of its size inside the frame does, and its
    sharpness is FLUSH_MARGIN less than its sides'. An inset is smaller than the frame both ways,
    so at most one side of each pair lies on the edge.

    Also returned: the box inside the frame whose weakest side stands out most that way (its step
    over the cap first, then its sharpness and sides), when it stands out at all. A picture with
    strong straight lines of its own makes boxes of two of the inset's sides and two of its lines
    that outrank the inset by gradient (forest-stream at 70 %: 0.90-0.92 against the inset's
    0.87), but their sides stand out no more than their neighbours (-0.07 to -0.17 against 0.09)."""
    height, width = image.shape
    across = np.abs(np.diff(image, axis=1))  # (H, W - 1): between columns x and x + 1
    down = np.abs(np.diff(image, axis=0))  # (H - 1, W)
    median = float(np.median(np.concatenate([across.ravel(), down.ravel()])))
    cap = GRADIENT_CAP * max(median, MIN_MEDIAN_GRADIENT)  # a mostly flat frame's median is 0
    across, down = np.minimum(across, cap), np.minimum(down, cap)
    plain = _side_runs(across, down, cap)
    steps = _side_runs(_steps(across, axis=1), _steps(down, axis=0), cap)
    found = []
    standout: tuple[float, float, int, int, int, int] | None = None
    for w in range(2, width - 1):
        for h in sorted({int(np.floor(w * ratio)), int(np.ceil(w * ratio))}):
            if h < 2 or h > height - 2 or max(w / width, h / height) < INSET_SCALE:
                continue
            weakest = _weakest_sides(*plain, w, h)
            inside = weakest[1:-1, 1:-1]
            top, left = _peak(inside)
            found.append(
                (float(inside[top, left]) / cap, left + 1, left + 1 + w, top + 1, top + 1 + h)
            )
            standing = _weakest_sides(*steps, w, h)
            top, left = _peak(standing[1:-1, 1:-1])
            step = float(standing[top + 1, left + 1]) / cap  # the most any box inside stands out
            if step > 0 and (standout is None or step > standout[0]):
                sides = (left + 1, left + 1 + w, top + 1, top + 1 + h)
                standout = (step, float(inside[top, left]) / cap, *sides)
            bar = max(FLUSH_STEP, step) * cap
            standing[1:-1, 1:-1] = -np.inf
            top, left = _peak(standing)
            if standing[top, left] > bar:
                sharpness = float(weakest[top, left]) / cap - FLUSH_MARGIN
                found.append((sharpness, left, left + w, top, top + h))
    found.sort(key=lambda box: -box[0])
    return found[: 4 * limit], standout


def _peak(values: np.ndarray) -> tuple[int, int]:
    """(row, column) of the largest value."""
    row, column = np.unravel_index(int(np.argmax(values)), values.shape)
    return int(row), int(column)


def _steps(gradient: np.ndarray, axis: int) -> np.ndarray:
    """Each boundary's gradient less the stronger of its neighbours' STEP_REACH away (0 where
    there is no neighbour that far)."""
    padded = np.pad(gradient, [(STEP_REACH, STEP_REACH) if a == axis else (0, 0) for a in (0, 1)])
    before = np.take(padded, np.arange(gradient.shape[axis]), axis=axis)
    after = np.take(padded, np.arange(gradient.shape[axis]) + 2 * STEP_REACH, axis=axis)
    return gradient - np.maximum(before, after)


def _side_runs(across: np.ndarray, down: np.ndarray, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """Running sums of the gradients between columns (down the rows) and between rows (along the
    columns), indexed by boundary: column b lies between pixels b - 1 and b, and 0 and W are the
    frame's edges, which count as `cap`."""
    height, width = across.shape[0], down.shape[1]
    across = np.pad(across, ((0, 0), (1, 1)), constant_values=cap)
    down = np.pad(down, ((1, 1), (0, 0)), constant_values=cap)
    column_runs = np.zeros((height + 1, width + 1), np.float32)
    np.cumsum(across, axis=0, out=column_runs[1:])
    row_runs = np.zeros((height + 1, width + 1), np.float32)
    np.cumsum(down, axis=1, out=row_runs[:, 1:])
    return column_runs, row_runs


def _weakest_sides(column_runs: np.ndarray, row_runs: np.ndarray, w: int, h: int) -> np.ndarray:
    """The mean gradient of the weakest side of every w x h box, by (top, left) from (0, 0)."""
    height, width = row_runs.shape[0] - 1, column_runs.shape[1] - 1
    lefts, tops = width - w + 1, height - h + 1
    vertical = (column_runs[h:] - column_runs[:-h]) / h  # (tops, W + 1): rows t .. t + h
    horizontal = (row_runs[:, w:] - row_runs[:, :-w]) / w  # (H + 1, lefts)
    return np.minimum(
        np.minimum(vertical[:, :lefts], vertical[:, w : w + lefts]),
        np.minimum(horizontal[:tops], horizontal[h : h + tops]),
    )


def _placed(
    image: np.ndarray,
    sharpness: float,
    ratio: float,
    columns: tuple[int, int],
    rows: tuple[int, int],
) -> Inset:
    """The inset near the half-size guess (its left and right `columns`, top and bottom `rows`),
    each side placed at its edge's peak (a parabola through the strongest boundary and its two
    neighbours), of the shape `ratio` says; a side on the frame's edge stays there."""
    height, width = image.shape
    (left, right), (top, bottom) = columns, rows
    across = np.abs(np.diff(image, axis=1))
    down = np.abs(np.diff(image, axis=0))
    # Boundary b lies between pixels b - 1 and b: gradient index b - 1.
    profile_x = across[top + _SIDE_INSET : bottom - _SIDE_INSET].mean(axis=0)
    profile_y = down[:, left + _SIDE_INSET : right - _SIDE_INSET].mean(axis=1)
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
    else, of the boxes that move one side to where the other three put it, the one whose
    weakest side is strongest. A strong edge just inside the inset (a photo's dark shore along
    its bottom) can outshine the inset's own side within EDGE_REACH; the other three are right.
    A side on the frame's edge is never moved."""
    left, right, top, bottom = sides
    height, width = ratio * (right - left), (bottom - top) / ratio
    if abs(bottom - top - height) <= SHAPE_SLACK:
        return sides
    moved: list[Sides] = []
    if not _on_frame_edge(profile_y, bottom):
        moved.append((left, right, top, _edge(profile_y, round(top + height), 1)))
    if not _on_frame_edge(profile_y, top):
        moved.append((left, right, _edge(profile_y, round(bottom - height), 1), bottom))
    if not _on_frame_edge(profile_x, right):
        moved.append((left, _edge(profile_x, round(left + width), 1), top, bottom))
    if not _on_frame_edge(profile_x, left):
        moved.append((_edge(profile_x, round(right - width), 1), right, top, bottom))

    def weakest(box: Sides) -> float:
        strengths = [_strength(profile_x, side) for side in box[:2]]
        return min(strengths + [_strength(profile_y, side) for side in box[2:]])

    return max(moved, key=weakest, default=sides)


def _on_frame_edge(profile: np.ndarray, boundary: float) -> bool:
    """The boundary is the frame's first or last (a profile has one value per inner boundary)."""
    return boundary in (0, profile.size + 1)


def _strength(profile: np.ndarray, boundary: float) -> float:
    """The gradient at a (fractional) boundary: the stronger of the two whole ones beside it; the
    frame's edge counts as sharper than any."""
    if _on_frame_edge(profile, boundary):
        return float("inf")
    low, high = int(np.floor(boundary)), int(np.ceil(boundary))
    inside = [profile[b - 1] for b in (low, high) if 1 <= b <= profile.size]
    return float(max(inside, default=0.0))


def _edge(profile: np.ndarray, guess: int, reach: int = EDGE_REACH) -> float:
    """The boundary within `reach` of `guess` where `profile` (gradient index b - 1 for boundary
    b) peaks; the frame's edge (0, or one past the profile's last) when `guess` is on it."""
    if guess <= 0 or guess > profile.size:
        return 0.0 if guess <= 0 else float(profile.size + 1)
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
