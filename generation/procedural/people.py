"""People layer: subtle life where the policy lets people move (`options.face_motion`).

The seed's "subtle life": hair and clothes sway a little and the chest rises and falls with slow
breathing. Each face, the identity region (context.identity: the face box enlarged as
`Scene.face_mask` does), is never warped on its own: it moves only with the camera, so no expression is ever invented. Where
the policy restricts people (the default pack's `restrict` on real people), the faces are held
still instead (context.still) and this layer does nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from .context import LayerContext
from .flow import LocalFlow, Oscillation
from .imaging import smooth_noise

# At 720p and the default motion: hair and clothes sway this far, the torso breathes this far
SWAY_PX = 2.0
BREATH_PX = 2.0
SWAY_HZ = 0.45
BREATH_HZ = 0.25  # 15 breaths a minute, a person at rest
_PEOPLE_STREAM = 0x9E09  # the layer's own random stream: other layers' draws stay as they were


def prepare(ctx: LayerContext) -> LocalFlow | None:
    """Sway and breathing around each face; None without faces or where they are held still."""
    faces = ctx.scene.faces
    if ctx.identity is None or ctx.still is not None or ctx.intensity <= 0:
        return None
    hair, torso = _around_faces(faces, ctx.width, ctx.height)
    keep = 1.0 - ctx.identity
    hair *= keep
    torso *= keep
    ys, xs = np.nonzero((hair + torso) > 1e-3)
    if ys.size == 0:
        return None
    box = slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)
    hair, torso = hair[box], torso[box]
    size = ctx.scale * ctx.intensity
    cell = 60 * ctx.scale
    noise = smooth_noise(ctx.own_rng(_PEOPLE_STREAM), *hair.shape, cell, cell, 2)
    sway = SWAY_PX * size * (hair + 0.5 * torso)
    sway_omega = 2.0 * np.pi * ctx.timeline.frequency(SWAY_HZ * ctx.style.speed)
    breath_omega = 2.0 * np.pi * ctx.timeline.frequency(BREATH_HZ)
    return LocalFlow(
        x=Oscillation.of(box, sway, 0.6 * noise, sway_omega),
        # the chest rises and falls as one: the same phase over the torso
        y=Oscillation.of(box, BREATH_PX * size * torso, np.zeros_like(torso), breath_omega),
        motions=(
            {
                "region": "people",
                "kind": "hair and clothes sway, breathing; faces move only with the camera",
                "count": len(faces),
                "frequency_hz": round(sway_omega / 2 / np.pi, 3),
                "breathing_hz": round(breath_omega / 2 / np.pi, 3),
            },
        ),
    )


def _around_faces(
    faces: list[tuple[int, int, int, int]], width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Feathered masks of where hair (around the head) and the torso (below the chin) likely are,
    from each face box (x, y, w, h in frame pixels)."""
    hair = np.zeros((height, width), np.float32)
    torso = np.zeros((height, width), np.float32)
    feather = 0.0
    for x, y, w, h in faces:
        _fill(hair, x - 0.5 * w, y - 0.6 * h, x + 1.5 * w, y + 1.0 * h)
        _fill(torso, x - 1.0 * w, y + 1.3 * h, x + 2.0 * w, y + 4.5 * h)
        feather = max(feather, 0.25 * w)
    if feather > 0.2:
        cv2.GaussianBlur(hair, (0, 0), feather, dst=hair)
        cv2.GaussianBlur(torso, (0, 0), feather, dst=torso)
    return hair, torso


def _fill(mask: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> None:
    h, w = mask.shape
    top, bottom = max(0, int(y0)), min(h, int(np.ceil(y1)))
    left, right = max(0, int(x0)), min(w, int(np.ceil(x1)))
    mask[top:bottom, left:right] = 1.0
