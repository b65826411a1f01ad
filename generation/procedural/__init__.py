"""The procedural living-photo backend (CPU, no weights): scene-aware motion, light and sound.

The photo is fitted to the frame (`photo`), its scene analysed, and each effect prepared once as
a layer (`sky`, `camera`, `water`, `foliage`, `light`, `twinkle`, `particles`, from a shared
`context`); the `renderer` then passes every frame through the layers in order, a handful of
vectorised OpenCV calls each. `generate` ties it together with the ambient sound.
"""

from .generate import BACKEND, BACKEND_VERSION, generate_clip
from .photo import analyze_photo, faces_in_frame, fit_photo
from .renderer import Renderer

__all__ = [
    "BACKEND",
    "BACKEND_VERSION",
    "Renderer",
    "analyze_photo",
    "faces_in_frame",
    "fit_photo",
    "generate_clip",
]
