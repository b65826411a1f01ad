"""How hazy the distance is: the dark channel prior read on the band just below the horizon.

In a haze-free outdoor patch some colour channel is nearly black (shadows, saturated colours);
the air between the camera and distant land lifts every channel toward the air's own colour, the
airlight (He, Sun and Tang, "Single image haze removal using dark channel prior", CVPR 2009). So
the band below the horizon is measured by the median of min over a patch and over channels of
pixel / airlight: ~0 on crisp ground, ~0.9 in grey mist. On the evaluation set (2026-12-07):
grey mist over a jetty 0.87, a hazy beach at dusk 0.68, distant hazy mountains 0.50, a calm lake
at 1 am 0.40, the surfer's wave 0.04, cyclists under trees 0.00.
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH = 7  # pixels of the 384-wide analysis image over which the dark channel takes its minimum
AIRLIGHT_SHARE = 0.001  # the brightest share of the dark channel: where the airlight is read
BAND_ABOVE = 0.02  # the band starts this share of the height above the horizon
BAND_BELOW = 0.15  # and reaches this far below it
MIN_BAND = 0.01  # share of the image the band must cover to be read at all


def haziness(
    small: np.ndarray, sky: np.ndarray, horizon: float
) -> tuple[float, tuple[int, ...], np.ndarray]:
    """(haze in the distance, 0..1; the airlight colour, RGB; each pixel's normalised dark
    channel, 0..1) for an analysis-size RGB image, its sky mask and horizon. The distance's haze
    is 0 where no ground is seen near a horizon."""
    h = sky.shape[0]
    image = small.astype(np.float32)
    kernel = np.ones((PATCH, PATCH), np.uint8)
    dark = cv2.erode(image.min(axis=2), kernel)
    brightest = dark >= np.quantile(dark, 1.0 - AIRLIGHT_SHARE)
    airlight = np.maximum(image[brightest].mean(axis=0), 1.0)
    normalised = cv2.erode((image / airlight).min(axis=2), kernel)
    rows = np.arange(h)[:, None]
    line = horizon * h
    band = (sky < 0.5) & (rows >= line - BAND_ABOVE * h) & (rows < line + BAND_BELOW * h)
    normalised = np.clip(normalised, 0.0, 1.0)
    colour = tuple(round(float(c)) for c in airlight)
    if band.mean() < MIN_BAND:
        return 0.0, colour, normalised
    return float(np.median(normalised[band])), colour, normalised
