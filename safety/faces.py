"""Face detection on the input photo, as signals, so policies can treat animating real people apart.

MediaPipe's two BlazeFace detectors, as MediaPipe 0.10.14 ships them in its wheel
(`mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite` and
`face_detection_short_range.tflite`; Apache-2.0, see `safety/models/LICENSE-mediapipe.txt`), run
by Google's LiteRT interpreter (`ai-edge-litert`, Apache-2.0) through `safety.blaze`. The model
files are carried in this package (677 + 230 KB) because the mediapipe wheel itself pulls
opencv-contrib and jax beside our OpenCV; nothing is downloaded.

They replaced OpenCV's Haar cascade, which found faces in a Milky Way and in ferns (issue 12);
bench/safety_eval.py `--only faces` measures them. The full-range model looks at the whole photo
(192x192, letterboxed) and then at overlapping square tiles, so faces down to ~2 % of the long side
are found; it scores faces that fill the frame low (0.35-0.75 on close portraits), so the
short-range model (128x128, trained on faces within ~2 m of a selfie camera) looks at the whole
photo too. Each model has its own threshold; boxes from all passes are merged by non-maximum
suppression. Without the interpreter or a model the signal says "not evaluated" rather than
"no faces": a policy that requires faces then fails closed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from safety.blaze import SsdModel, ssd_anchors, suppress, tile_offsets
from safety.signals import Signal

FACES = "faces.count"
MAX_COUNTED = 10  # score = faces / 10, capped: "one face" and "a crowd" stay distinguishable
MODELS_DIR = Path(__file__).with_name("models")
MODEL_PATH = MODELS_DIR / "blazeface_full_range_sparse.tflite"
SHORT_MODEL_PATH = MODELS_DIR / "blazeface_short_range.tflite"
MODEL_NAME = "mediapipe-blazeface-full-range-sparse+short-range@0.10.14"
# Measured on the evaluation set (samples/faces, bench/safety_eval.py --only faces); see NOTES.md.
MIN_SCORE = 0.78  # full range
SHORT_MIN_SCORE = 0.79  # short range
_IOU_MERGE = 0.3
_DETECT_LONG_SIDE = 960  # photos are looked at no larger than this
_TILE_FRACTION = 0.6  # tiles are squares of 60 % of the short side, overlapping
_FULL_INPUT = 192  # one anchor per 4x4 cell of a 48x48 grid
_SHORT_INPUT = 128


@dataclass(frozen=True)
class FaceBox:
    """One face: its box as fractions of the photo (x, y, width, height) and the model's score."""

    x: float
    y: float
    width: float
    height: float
    score: float

    def xywh(self) -> list[float]:
        """The box as the `boxes_xywh` entries of the `faces.count` signal (4 places)."""
        return [round(v, 4) for v in (self.x, self.y, self.width, self.height)]


@dataclass(frozen=True)
class Candidates:
    """Every anchor's box and score from one model's passes over a photo, with its threshold."""

    boxes: np.ndarray
    scores: np.ndarray
    min_score: float

    def best(self) -> float:
        """The highest score any anchor reached (0 when there were none)."""
        return float(self.scores.max()) if len(self.scores) else 0.0


def _faces(candidates: list[Candidates]) -> list[FaceBox]:
    """The strongest box of each overlapping group at or above its model's threshold, clipped."""
    boxes = np.concatenate([c.boxes[c.scores >= c.min_score] for c in candidates])
    scores = np.concatenate([c.scores[c.scores >= c.min_score] for c in candidates])
    found = []
    for best in suppress(boxes, scores, _IOU_MERGE):
        x0, y0 = np.clip(boxes[best, :2], 0.0, 1.0)
        x1, y1 = np.clip(boxes[best, :2] + boxes[best, 2:], 0.0, 1.0)
        if x1 > x0 and y1 > y0:
            found.append(
                FaceBox(float(x0), float(y0), float(x1 - x0), float(y1 - y0), float(scores[best]))
            )
    return found


class FaceDetector:
    """Finds faces in a photo and reports their boxes (normalised to [0, 1])."""

    def __init__(
        self,
        model_path: Path = MODEL_PATH,
        min_score: float = MIN_SCORE,
        short_model_path: Path = SHORT_MODEL_PATH,
        short_min_score: float = SHORT_MIN_SCORE,
    ) -> None:
        self.model = MODEL_NAME
        self.min_score = min_score
        self.short_min_score = short_min_score
        self.unavailable = ""
        self._full: SsdModel | None = None
        self._short: SsdModel | None = None
        missing = [p for p in (model_path, short_model_path) if not Path(p).is_file()]
        if missing:
            self.unavailable = f"face model not found ({', '.join(map(str, missing))})"
            return
        try:
            self._full = SsdModel(model_path, _FULL_INPUT, ssd_anchors(_FULL_INPUT, [4], 1))
            self._short = SsdModel(
                short_model_path, _SHORT_INPUT, ssd_anchors(_SHORT_INPUT, [8, 16, 16, 16])
            )
        except ImportError as exc:
            self._full = None
            self.unavailable = f"the LiteRT interpreter (ai-edge-litert) is not installed: {exc}"

    @property
    def available(self) -> bool:
        """True when a detector is loaded (otherwise every signal is `evaluated=False`)."""
        return self._full is not None and self._short is not None

    def candidates(self, photo: Image.Image) -> list[Candidates]:
        """Both models' scored anchors over the photo (full range with tiles, then short range)."""
        assert self._full is not None and self._short is not None, self.unavailable
        photo = photo.convert("RGB")
        if max(photo.size) > _DETECT_LONG_SIDE:
            photo = photo.copy()
            photo.thumbnail((_DETECT_LONG_SIDE, _DETECT_LONG_SIDE), Image.BILINEAR)
        width, height = photo.size
        passes = [self._full.run(photo)[::2]]
        tile = round(min(width, height) * _TILE_FRACTION)
        if max(width, height) > 2 * _FULL_INPUT and tile >= _FULL_INPUT:
            for top in tile_offsets(height, tile):
                for left in tile_offsets(width, tile):
                    boxes, _, scores = self._full.run(
                        photo.crop((left, top, left + tile, top + tile))
                    )
                    boxes = boxes * np.array([tile / width, tile / height] * 2) + np.array(
                        [left / width, top / height, 0.0, 0.0]
                    )
                    passes.append((boxes, scores))
        full = Candidates(
            np.concatenate([b for b, _ in passes]),
            np.concatenate([s for _, s in passes]),
            self.min_score,
        )
        short_boxes, _, short_scores = self._short.run(photo)
        return [full, Candidates(short_boxes, short_scores, self.short_min_score)]

    def find(self, photo: Image.Image) -> list[FaceBox]:
        """Every face in the photo, strongest first (empty when the detector is unavailable)."""
        if not self.available:
            return []
        return _faces(self.candidates(photo))

    def detect(self, photo: Image.Image, found: list[FaceBox] | None = None) -> list[Signal]:
        """One `faces.count` signal; detail holds the count and boxes as JSON. `found`: the
        faces `find` already gave for this photo (so the age estimate shares one search)."""
        if not self.available:
            return [Signal(FACES, 0.0, self.model, evaluated=False, detail=self.unavailable)]
        faces = self.find(photo) if found is None else found
        score = min(len(faces), MAX_COUNTED) / MAX_COUNTED
        detail = json.dumps({"count": len(faces), "boxes_xywh": [f.xywh() for f in faces]})
        return [Signal(FACES, score, self.model, detail=detail)]


@functools.lru_cache(maxsize=1)
def shared_detector() -> FaceDetector:
    """One detector per process for callers without a composition root (the generator's fallback)."""
    return FaceDetector()
