"""Foam layer: the white water of a stream or fall runs downstream instead of rolling in place.

The water layer's ripple moves water back and forth, which is how a lake reads; a stream's foam
travels. Sliding the photo itself down the stream was tried first: the rocks and the gaps inside
the foam's region slid and doubled with it (a slide that starts over every second, by a
cross-fade, showed two copies a slide apart). So the photo stays, and streaks run over it
instead: noise stretched along the flow lightens and shades the foam and slides down the frame
(water runs down a photo: over a fall, and toward the viewer along a stream seen from its bank).
The streaks are drawn long enough for the longest clip; a loop cross-fades two copies half its
period apart, as the sky's drift does, so it has no seam. They are weighted by how white each
pixel is, so dark rock inside the foam's region hardly changes, and they are added to the photo
before the warp, so the camera moves them with everything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .context import LayerContext, Timeline
from .flow import Box, local_region
from .frame import Frame
from .imaging import smooth_noise
from .sky import MAX_DURATION_S

FOAM_SPEED = 60.0  # px per second at 720p
STREAK_LEVELS = 22.0  # grey levels of light and shade at one deviation of the streaks
STREAK_LENGTH, STREAK_WIDTH = 36.0, 5.0  # px at 720p: the streaks' noise cells along and across
WHITE_FROM, WHITE_FULL = 110.0, 190.0  # a pixel's grey level from which it takes streaks, fully
MIN_FOAM = 0.003  # share of the frame under which a speck of white is not a stream
FOAM_STREAM = 0xF0A4  # the layer's own random stream: other layers' draws stay as they were


@dataclass(frozen=True)
class FoamFlow:
    """The foam's box, how much of the streaks each pixel takes, and the streaks themselves."""

    box: Box
    weight: np.ndarray  # (rows, cols) float32: grey levels per unit of streak noise
    streaks: np.ndarray  # (rows + reach, cols) float32 noise, unit deviation
    speed: float  # px per second, down the frame
    timeline: Timeline
    motions: tuple[dict[str, Any], ...]

    def _streaks_at(self, offset: float) -> np.ndarray:
        """The streaks over the box once they have slid `offset` px down."""
        rows = self.weight.shape[0]
        reach = self.streaks.shape[0] - rows
        shift = np.float32([[1, 0, 0], [0, 1, offset - reach]])  # rows from above the box
        size = (self.streaks.shape[1], rows)
        return cv2.warpAffine(self.streaks, shift, size, flags=cv2.INTER_LINEAR)

    def streaks_at(self, t: float) -> np.ndarray:
        """The streaks over the box at time t. A loop cross-fades two copies half its period
        apart, as the sky does, kept at unit deviation through the fade."""
        if not self.timeline.loop:
            return self._streaks_at(self.speed * t)
        period = self.timeline.period
        phase = (t / period) % 1.0
        mix = 1.0 - abs(2.0 * phase - 1.0)
        cycle = self.speed * period
        first = self._streaks_at(cycle * phase)
        second = self._streaks_at(cycle * ((phase + 0.5) % 1.0))
        return (mix * first + (1.0 - mix) * second) / math.hypot(mix, 1.0 - mix)

    def apply(self, frame: Frame) -> None:
        if frame.source is frame.photo:  # no layer before has made a composite of its own
            frame.source = frame.buffer("foam.composite", frame.photo.copy)
        delta = cv2.multiply(self.streaks_at(frame.t), self.weight)
        # added to the photo on all four channels (the alpha saturates at 255), rounded and
        # saturated in one OpenCV call: numpy's float round trip cost 8 ms a 720p frame
        cv2.add(
            frame.photo[self.box],
            cv2.cvtColor(delta, cv2.COLOR_GRAY2BGRA),
            dst=frame.source[self.box],
            dtype=cv2.CV_8U,
        )


def prepare(ctx: LayerContext) -> FoamFlow | None:
    """The foam's streaks, or None where the photo shows no white water (or the plan stills it)."""
    scene = ctx.scene
    strength = ctx.plan.water * ctx.intensity
    if scene.foam is None or scene.fraction("foam") < MIN_FOAM or strength <= 0.0:
        return None
    region = local_region(ctx, "foam", 4.0, 0.0)
    if region is None:
        return None
    box, mask = region
    grey = cv2.cvtColor(ctx.image[box], cv2.COLOR_RGB2GRAY).astype(np.float32)
    white = np.clip((grey - WHITE_FROM) / (WHITE_FULL - WHITE_FROM), 0.0, 1.0)
    weight = STREAK_LEVELS * min(1.0, strength) * mask * white
    speed = FOAM_SPEED * ctx.scale * strength * ctx.style.speed
    rows, cols = weight.shape
    # the streaks span the longest clip's slide, so a clip's length does not change them
    streaks = smooth_noise(
        ctx.own_rng(FOAM_STREAM),
        rows + math.ceil(speed * MAX_DURATION_S) + 2,
        cols,
        STREAK_LENGTH * ctx.scale,
        STREAK_WIDTH * ctx.scale,
        2,
    )
    motion = {"region": "foam", "kind": "downstream streaks", "speed_px_s": round(speed, 2)}
    return FoamFlow(box, weight.astype(np.float32), streaks, speed, ctx.timeline, (motion,))
