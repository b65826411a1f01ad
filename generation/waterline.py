"""The waterline inside the sky region: where a sea or a lake that mirrors the sky meets it.

The sky's colour test takes in smooth water that mirrors it (a sea's horizon, a calm lake under a
far shore); this finds the level line that splits the two, on the analysis copy of the photo."""

from __future__ import annotations

import cv2
import numpy as np

WATERLINE_STEP = 12.0  # summed RGB change over four rows at a waterline
WATERLINE_ACROSS = 0.6  # share of the frame's width the waterline crosses inside the sky
# water mirrors the sky just above its line, never quite all of its light, so it is at most about
# as bright (the brightest channel's mean in a band each side, the evaluation photos' waterlines:
# -16 to +1 grey levels); a sky lightens toward the horizon, and the edge of a colour band in it
# has the lighter side below (beach-city-dusk's mauve cloud band over its pink glow: +22 to +24)
WATERLINE_BRIGHTER = 10.0
WATERLINE_BAND = 0.03  # share of the height: the bands each side of a line that are compared
WATERLINE_LOWEST = 0.3  # share of the height: a line higher up is a sky's band, not a horizon
WATERLINE_HIGHEST = 0.92


def split_at_waterline(small: np.ndarray, sky: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finds a waterline inside the sky region: a straight, sharp horizontal edge across most of
    the frame with sky-coloured smooth area on both sides, no lighter below than above. Returns
    the sky above it and the part below it (a water candidate)."""
    h, w = sky.shape
    inside = sky > 0.5
    if not inside.any():
        return sky, np.zeros_like(sky)
    smooth = cv2.GaussianBlur(small.astype(np.float32), (0, 0), 2.0, sigmaY=0.5)
    jump = np.abs(smooth[4:] - smooth[:-4]).sum(axis=2)  # row y + 2 against row y - 2
    across = ((jump > WATERLINE_STEP) & inside[4:] & inside[:-4]).sum(axis=1) / float(w)
    rows = np.arange(across.size) + 2
    across[(rows < WATERLINE_LOWEST * h) | (rows > WATERLINE_HIGHEST * h)] = 0.0
    best = int(np.argmax(across))
    line = best + 2
    # the strongest level edge in the sky is the waterline if there is one; when it is a colour
    # band's, the weaker edges are that sky's other bands
    if across[best] < WATERLINE_ACROSS or _lighter_below(small.max(axis=2), inside, line):
        return sky, np.zeros_like(sky)
    below = np.zeros_like(sky)
    below[line:] = sky[line:]
    above = sky.copy()
    above[line:] = 0.0
    return above, below


def _lighter_below(vmax: np.ndarray, inside: np.ndarray, line: int) -> bool:
    """Whether the sky in a band under `line` is over WATERLINE_BRIGHTER lighter than in the band
    over it: a colour band's edge, not a waterline (two rows either side, where the edge itself
    lies, are left out)."""
    band = max(2, round(WATERLINE_BAND * vmax.shape[0]))
    above = slice(max(0, line - 2 - band), max(0, line - 2))
    below = slice(line + 2, line + 2 + band)
    over, under = vmax[above][inside[above]], vmax[below][inside[below]]
    if not over.size or not under.size:
        return False
    return float(under.mean()) - float(over.mean()) > WATERLINE_BRIGHTER
