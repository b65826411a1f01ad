"""Undo what re-uploaders do to a copy's framing before its watermark is read: bars and mirrors.

A letterbox or pillarbox bar, of any colour, is a band along an edge of the frame that is flat in
space and still in time. The detector keeps, beside the clip's average luma, each pixel's least
and greatest luma over the frames (`LumaStats`, watermark_stats.py); a line of pixels belongs to
a bar when nearly all of it sits within a few levels of the bar's colour and never moves. The bars
are cut off (one extra pixel too, where compression rings at the edge), a layer at a time where a
padded copy was letterboxed again, which leaves the picture as a copy of the original, perhaps
cropped, that the crop search already reads. Bars turned with the picture are not flat lines, but
the slivers of them a turn leaves along the frame's edges show its angle (`bar_slant`). A mirror
is undone by flipping the average luma back: the four orientations (as is, left-right, up-down,
both, which is also a half turn) are tried in turn.

Thresholds, measured on H.264 copies (CRF 18-28, 270p-720p): a flat bar's pixels sit within
1 level of its colour and move by at most 2 levels; a picture's edge line moves by tens of levels
on moving clips, and even a still photo's edge line rarely has 98 % of its pixels within 2.5
levels of one colour. Beside a moving picture, though, H.264 blends the motion into the bar lines
that share its macroblock (up to 4 lines at CRF 23, 83-97 % of their pixels still): those lines
are cut too when 95 % of them stay flat in the mean, up to RING_LINES. Kept as picture they cost
the fingerprint 20-30 of its 256 bits (a letterboxed copy then no longer matched). A wrongly cut
line only crops the picture a little, which the search allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLAT_LEVELS = 2.5  # a bar pixel's mean lies within this of the bar's colour
STILL_LEVELS = 4.0  # ... and its luma changes by at most this over the clip
BAR_SHARE = 0.98  # share of a line's pixels that must be bar-like for the line to be bar
EDGE_MARGIN = 1  # pixels cut beyond a bar: the line where compression blends bar and picture
RING_LINES = 8  # bar lines beside a moving picture that may ring (half an H.264 macroblock)
RING_SHARE = 0.95  # share of a ringing bar line's pixels that stay flat in the mean
RINGING_BAR = 4  # least bar lines beside which lines may ring (a dark sky under one black line)
MIN_PICTURE = 0.3  # least share of each axis left as picture; less and the copy is blank
# Bars inside bars: layers cut in turn (a padded copy letterboxed again is two). An inner bar is
# INNER_BAR lines or more (fewer is the picture's own flat edge), after up to BLEND_LINES lines
# where compression blends it with the bar outside it. White padding of 12 lines over a 1344 x
# 772 copy, letterboxed in black to 4:3, is 5.7 lines of the 640 x 480 statistics: a line
# blended with the black, 3 flat white lines (the fourth 98 % flat on 1 of 4 photos), a line
# blended with the picture. Between a black bar and white padding H.264 left 1-5 lines of 1-4
# levels and one of 204 (beach-city-dusk, 480 lines): flat and still, but not within FLAT_LEVELS
# of either bar. An inner bar is at most INNER_SHARE of the frame's axis (the bench's white
# padding is 4 % of it; letterboxed mist, flat and nearly still, was cut 100 lines deep).
BAR_LAYERS, BLEND_LINES, INNER_BAR, INNER_SHARE = 3, 5, 3, 0.1
# Bars turned with the picture (`bar_slant`): a sliver's still run from the edge is fitted along
# at least SLANT_SUPPORT of the edge, within SLANT_FIT lines RMS, after SLANT_TRIMS trims, and
# reaches at most SLANT_REACH of the frame inward; angles outside SLANT_DEGREES are not turns.
# Measured on the bench's eval clips padded unevenly in white and turned 3° (720p, CRF 28): the
# bottom sliver fitted 269-290 of 640 columns at 0.41-0.59 RMS and read 2.91-3.05°; the other
# edges' slivers were shorter or fitted at 2.7-4.1 RMS; a turned copy without bars has none.
SLANT_SUPPORT, SLANT_FIT, SLANT_TRIMS, SLANT_REACH = 0.15, 1.0, 4, 0.2
SLANT_DEGREES = (0.5, 6.0)
EDGE_REACH = RING_LINES + 3  # lines beyond a bar's last flat line where the picture may begin
EDGE_CONTRAST = 16.0  # levels between bar and picture for a pixel to tell how much is bar
EDGE_USABLE = 0.1  # least share of a line's pixels with that contrast to place the edge


@dataclass(frozen=True)
class Box:
    """The picture inside a copy's (height x width) frame: [top, bottom) x [left, right)."""

    top: int
    bottom: int
    left: int
    right: int
    height: int
    width: int

    def shares(self) -> tuple[float, float, float, float]:
        """(top, bottom, left, right) as shares of the frame's height and width."""
        h, w = self.height, self.width
        return self.top / h, self.bottom / h, self.left / w, self.right / w

    def bars(self) -> str | None:
        """How the copy is padded, in words; None when it is not."""
        height, width = self.height, self.width
        vertical = self.top > 0 or self.bottom < height
        horizontal = self.left > 0 or self.right < width
        if vertical and horizontal:
            return "padded on all sides"
        if vertical:
            return (
                "letterboxed (bars above and below)"
                if self.top and self.bottom < height
                else ("padded above" if self.top else "padded below")
            )
        if horizontal:
            return (
                "pillarboxed (bars left and right)"
                if self.left and self.right < width
                else ("padded on the left" if self.left else "padded on the right")
            )
        return None


@dataclass(frozen=True)
class Orientation:
    """A mirror to undo: flip the copy left-right and/or up-down."""

    left_right: bool
    up_down: bool

    def undo(self, image: np.ndarray) -> np.ndarray:
        """The copy's image as the original was oriented."""
        if self.left_right:
            image = image[:, ::-1]
        if self.up_down:
            image = image[::-1]
        return np.ascontiguousarray(image)

    def undo_window(
        self, window: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        """Where a (left, width, top, height) window of the copy lies once the mirror is undone."""
        left, width, top, height = window
        if self.left_right:
            left = 1 - left - width
        if self.up_down:
            top = 1 - top - height
        return (left, width, top, height)

    def words(self) -> str | None:
        """The mirror in words; None when there is none."""
        if self.left_right and self.up_down:
            return "mirrored left-right and upside down (or turned half round)"
        if self.left_right:
            return "mirrored left-right"
        if self.up_down:
            return "mirrored upside down"
        return None


# As is first, then the likeliest re-upload trick.
ORIENTATIONS = tuple(Orientation(lr, ud) for ud in (False, True) for lr in (False, True))


def picture_box(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> Box | None:
    """Where the picture sits once flat, still bars along the edges are cut off; None if blank.

    Bars inside bars (a copy padded in one colour, then letterboxed in another) are cut a layer
    at a time: above and below first, then left and right of what is left; then another bar of
    at most INNER_SHARE of the frame is looked for just inside each side (of another colour where
    the last round cut that side), until a round finds none (see `_inner_layer`)."""
    height, width = mean.shape
    still = (high - low) <= STILL_LEVELS
    top = _bar_lines(mean, still)
    bottom = height - _bar_lines(mean[::-1], still[::-1])
    if bottom - top < MIN_PICTURE * height:
        return None
    left = _bar_lines(mean[top:bottom].T, still[top:bottom].T)
    right = width - _bar_lines(mean[top:bottom, ::-1].T, still[top:bottom, ::-1].T)
    if right - left < MIN_PICTURE * width:
        return None
    edges = (top, bottom, left, right)
    cut = (top > 0, bottom < height, left > 0, right < width)
    for _ in range(BAR_LAYERS - 1):
        if not any(cut):
            break
        inner = _inner_layer(mean, still, edges, cut)
        if inner == edges:
            break
        cut = tuple(new != old for new, old in zip(inner, edges, strict=True))
        edges = inner
    top, bottom, left, right = edges
    return Box(
        top + EDGE_MARGIN * (top > 0),
        bottom - EDGE_MARGIN * (bottom < height),
        left + EDGE_MARGIN * (left > 0),
        right - EDGE_MARGIN * (right < width),
        height,
        width,
    )


def _inner_layer(
    mean: np.ndarray,
    still: np.ndarray,
    edges: tuple[int, int, int, int],
    cut: tuple[bool, ...],
) -> tuple[int, int, int, int]:
    """The (top, bottom, left, right) edges once another bar is cut just inside each side: of
    another colour where the last round `cut` that side; where it did not, a bar the last
    round's lines hid (the blended lines between two bars were part of them). The same edges
    where there is none, or where cutting would leave too little picture (MIN_PICTURE)."""
    height, width = mean.shape
    top, bottom, left, right = edges
    rows, columns = slice(top, bottom), slice(left, right)
    region, steady = mean[rows, columns], still[rows, columns]
    outer = (  # each side's last line outside the region (a bar's, where `cut` says it is one)
        mean[max(top - 1, 0), columns],
        mean[min(bottom, height - 1), columns],
        mean[rows, max(left - 1, 0)],
        mean[rows, min(right, width - 1)],
    )
    views = (
        (region, steady, height),
        (region[::-1], steady[::-1], height),
        (region.T, steady.T, width),
        (region[:, ::-1].T, steady[:, ::-1].T, width),
    )
    depth = [
        _inner_bar(view, stays, float(np.median(line)) if side_cut else None, INNER_SHARE * size)
        for (view, stays, size), side_cut, line in zip(views, cut, outer, strict=True)
    ]
    inner = (top + depth[0], bottom - depth[1], left + depth[2], right - depth[3])
    if inner[1] - inner[0] < MIN_PICTURE * height or inner[3] - inner[2] < MIN_PICTURE * width:
        return edges
    return inner


def bar_slant(mean: np.ndarray, low: np.ndarray, high: np.ndarray, pixel: float) -> float | None:
    """The angle, in degrees counter-clockwise, of bars turned with the picture; None if none.

    A copy padded or letterboxed and then turned (and zoomed to fill) keeps slivers of its bars
    along the frame's edges: flat in one colour and still, where the picture moves, and bounded
    by a straight line at the turn's angle. Per edge, the run of such pixels inward from each
    pixel of the edge is fitted with a line, trimming what does not fit (a sliver along the next
    edge, noise); the edge whose line fits SLANT_FIT over the most of its length gives the angle.
    `pixel` is a pixel's width over its height (the statistics may not keep square pixels). A
    still sky over a tilted horizon is still but not flat; a still image has no edge runs short
    enough to fit (all of it is still)."""
    still = (high - low) <= STILL_LEVELS
    found: list[tuple[int, float]] = []
    # (the edge first, the slope's sign for a counter-clockwise turn, its pixel scale)
    for view, steady, sign, scale in (
        (mean, still, -1.0, 1 / pixel),
        (mean[::-1], still[::-1], 1.0, 1 / pixel),
        (mean.T, still.T, 1.0, pixel),
        (mean[:, ::-1].T, still[:, ::-1].T, -1.0, pixel),
    ):
        edge = view[0][steady[0]]
        if edge.size == 0:
            continue
        sliver = steady & (np.abs(view - float(np.median(edge))) <= FLAT_LEVELS)
        runs = np.where(sliver.all(axis=0), sliver.shape[0], sliver.argmin(axis=0))
        fitted = _slant_line(runs.astype(np.float64), sliver.shape)
        if fitted is not None:
            slope, support = fitted
            found.append((support, float(np.degrees(np.arctan(sign * slope * scale)))))
    low_angle, high_angle = SLANT_DEGREES
    turns = [(support, angle) for support, angle in found if low_angle <= abs(angle) <= high_angle]
    return max(turns)[1] if turns else None


def _slant_line(run: np.ndarray, shape: tuple[int, int]) -> tuple[float, int] | None:
    """The slope of a line fitted to the still `run` inward from each pixel of an edge (of an
    image `shape` (inward, along)), and how many pixels it fits; None when too few do."""
    along = np.flatnonzero((run >= 2) & (run <= SLANT_REACH * shape[0]))
    for _ in range(SLANT_TRIMS):
        if along.size < SLANT_SUPPORT * shape[1]:
            return None
        slope, offset = np.polyfit(along, run[along], 1)
        misfit = np.abs(run[along] - (slope * along + offset))
        along = along[misfit <= max(SLANT_FIT, float(np.percentile(misfit, 80)))]
    if along.size < SLANT_SUPPORT * shape[1]:
        return None
    slope, offset = np.polyfit(along, run[along], 1)
    misfit = run[along] - (slope * along + offset)
    if float(np.sqrt(np.mean(misfit**2))) > SLANT_FIT:
        return None
    return float(slope), int(along.size)


def picture_window(mean: np.ndarray, box: Box) -> tuple[float, float, float, float]:
    """Which share of the original the picture inside bars (`box`) shows, as (left, width, top,
    height): the picture's edges are found to a fraction of a line (`_edge_beyond`), so the
    lines cut beyond each bar, and any kept as picture that are mostly bar, count as the
    sliver of the original they are, not as a crop to search for."""
    height, width = box.height, box.width
    top = _edge_beyond(mean, box.top - EDGE_MARGIN) if box.top > 0 else 0.0
    bottom = float(height)
    if box.bottom < height:
        bottom -= _edge_beyond(mean[::-1], height - box.bottom - EDGE_MARGIN)
    rows = mean[box.top : box.bottom]
    left = _edge_beyond(rows.T, box.left - EDGE_MARGIN) if box.left > 0 else 0.0
    right = float(width)
    if box.right < width:
        right -= _edge_beyond(rows[:, ::-1].T, width - box.right - EDGE_MARGIN)
    span_x, span_y = right - left, bottom - top
    return (
        (box.left - left) / span_x,
        (box.right - box.left) / span_x,
        (box.top - top) / span_y,
        (box.bottom - box.top) / span_y,
    )


def _edge_beyond(mean: np.ndarray, bar: int) -> float:
    """Where the picture begins below the `bar` flat lines at the top of `mean`, to a fraction
    of a line.

    Each line beyond blends the bar's colour and the picture; its share of bar is read, per
    pixel with contrast, against a line of picture EDGE_REACH further in. Lines count while they
    are mostly bar, and the first that is mostly picture counts its share and ends the edge.
    Two copies this fixes: a copy rescaled by a fraction (1344 x 772 to 640 x 360) spreads a
    bar's edge over two lines; white bars ring darker beside a dark moving picture (252 against
    255, too far off the bar's colour to be cut as ringing), so up to 6 lines of them were kept
    as picture. A window that put the edge at the last flat line read both at the wrong place."""
    if bar <= 0 or bar + EDGE_REACH >= mean.shape[0]:
        return float(max(bar, 0))
    colour = float(np.median(mean[bar - 1]))  # the innermost bar's, where bars are layered
    picture = mean[bar + EDGE_REACH]
    contrast = colour - picture
    usable = np.abs(contrast) >= EDGE_CONTRAST
    if usable.mean() < EDGE_USABLE:  # a picture much like its bar: keep the last flat line
        return float(bar)
    edge = float(bar)
    for line in mean[bar : bar + EDGE_REACH]:
        share = float(np.clip(np.median((line - picture)[usable] / contrast[usable]), 0.0, 1.0))
        edge += share
        if share < 0.5:
            break
    return edge


def _inner_bar(mean: np.ndarray, still: np.ndarray, outer: float | None, most: float) -> int:
    """How many lines from the top of `mean` (inside bars) form another bar: INNER_BAR lines at
    least, EDGE_CONTRAST levels off the colour `outer` of the bar just outside when there is
    one, past up to BLEND_LINES where compression blends the two, and `most` lines in all (a
    flat, still part of the picture, such as mist, is thicker); 0 when there is none."""
    for blend in range(min(BLEND_LINES, mean.shape[0] - INNER_BAR) + 1):
        count = _bar_lines(mean[blend:], still[blend:])
        colour = float(np.median(mean[blend]))
        contrast = outer is None or abs(colour - outer) >= EDGE_CONTRAST
        if count >= INNER_BAR and contrast and blend + count <= most:
            return blend + count
    return 0


def _bar_lines(mean: np.ndarray, still: np.ndarray) -> int:
    """How many lines from the top of `mean` form one flat, still bar.

    The lines next to the picture that are flat but not still (RING_LINES at most) are bar too:
    H.264 blends the picture's motion into them."""
    colour = float(np.median(mean[0]))
    flat = np.abs(mean - colour) <= FLAT_LEVELS
    lines = np.flatnonzero((still & flat).mean(axis=1) < BAR_SHARE)
    count = int(lines[0]) if lines.size else mean.shape[0]
    if count < RINGING_BAR:  # no bar, or a line or two: what lies beyond is picture, dark or not
        return count
    ringing = flat[count : count + RING_LINES].mean(axis=1) >= RING_SHARE
    return count + int(np.argmin(ringing) if not ringing.all() else ringing.size)
