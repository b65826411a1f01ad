"""White water: a stream or a fall running over rocks, which the lake-and-sea finder never sees.

A lake or the sea is found by what it mirrors and where it lies under the sky; a stream in a
wood shows no sky at all. What gives it away is its foam: bluish white (it lights with the sky's
blue where rock and bark are warm grey), busy with spray and streaks, and the brightest thing
among the darker rocks and leaves around it. Snow fields, clouds and white walls are smooth or lie
against the sky; a white shirt is where people are."""

from __future__ import annotations

import cv2
import numpy as np

from .regions import stripes

FOAM_BLUE = 10.0  # blue over red, grey levels: foam lit by the sky (rock and bark are warmer)
FOAM_MIN_LEVEL = 90.0  # brightest channel
FOAM_MAX_SATURATION = 0.35
FOAM_MIN_TOP = 0.3  # share of the height: water runs in the lower part of a photo
FOAM_MIN_AREA = 0.01  # share of the frame a stretch of white water covers at least
FOAM_TEXTURE = 18.0  # median gradient (scene._texture's grey levels): spray and streaks
FOAM_BRIGHTER = 25.0  # grey levels over what surrounds it
FOAM_MAX_STRIPES = 0.8  # parallel lines only (a road, a rail under motion blur) are not water
FOAM_MAX_SKY_AROUND = 0.2  # share of its surroundings that is sky: a plane or a cloud


def white_water(
    rgb: np.ndarray,
    vmax: np.ndarray,
    saturation: np.ndarray,
    gray: np.ndarray,
    texture: np.ndarray,
    rows: np.ndarray,
    sky: np.ndarray,
    people: np.ndarray,
) -> np.ndarray:
    """The white water of a stream or fall as a 0/1 float32 mask at analysis size (all zero where
    there is none): each stretch of foam with the gaps between its streaks closed. `rgb` is the
    analysis image in float, `vmax` and `saturation` its brightest channel and saturation."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    foam = (
        (b > r + FOAM_BLUE)
        & (b >= g)
        & (vmax > FOAM_MIN_LEVEL)
        & (saturation < FOAM_MAX_SATURATION)
        & (rows > FOAM_MIN_TOP)
        & (sky < 0.5)
        & (people == 0)
    )
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    stretches = cv2.morphologyEx(foam.astype(np.uint8), cv2.MORPH_CLOSE, ellipse)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(stretches, connectivity=8)
    water = np.zeros(foam.shape, np.float32)
    for label in range(1, count):
        if stats[label, 4] < FOAM_MIN_AREA * foam.size:
            continue
        stretch = labels == label
        if _runs_like_water(stretch, foam, vmax, gray, texture, sky):
            water[stretch & (sky < 0.5)] = 1.0
    return water


def _runs_like_water(
    stretch: np.ndarray,
    foam: np.ndarray,
    vmax: np.ndarray,
    gray: np.ndarray,
    texture: np.ndarray,
    sky: np.ndarray,
) -> bool:
    """Whether a stretch of bluish white is water: busy, brighter than what is around it, not
    striped, not against the sky."""
    around = cv2.dilate(stretch.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    around &= ~stretch
    if not around.any():
        return False
    return (
        float(np.median(texture[stretch])) >= FOAM_TEXTURE
        and float(vmax[stretch & foam].mean()) >= float(vmax[around].mean()) + FOAM_BRIGHTER
        and stripes(gray, stretch) < FOAM_MAX_STRIPES
        and float((sky[around] > 0.5).mean()) < FOAM_MAX_SKY_AROUND
    )
