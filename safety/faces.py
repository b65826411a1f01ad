"""Face detection on the input photo, as signals, so policies can treat animating real people apart.

MediaPipe's BlazeFace full-range detector (the sparse model MediaPipe 0.10.14 ships in its wheel
as `mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite`; Apache-2.0, see
`safety/models/LICENSE-mediapipe.txt`), run by Google's LiteRT interpreter (`ai-edge-litert`,
Apache-2.0). The model file is carried in this package (677 KB) because the mediapipe wheel
itself pulls opencv-contrib and jax beside our OpenCV; nothing is downloaded.

It replaced OpenCV's Haar cascade, which found faces in a Milky Way and in ferns (issue 12);
bench/safety_eval.py `--only faces` measures both. The whole photo is looked at once (192x192,
letterboxed) and then in overlapping square tiles, so faces down to ~2 % of the long side are
found; boxes from all passes are merged by non-maximum suppression. Without the interpreter or
the model the signal says "not evaluated" rather than "no faces": a policy that requires faces
then fails closed.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from safety.signals import Signal

FACES = "faces.count"
MAX_COUNTED = 10  # score = faces / 10, capped: "one face" and "a crowd" stay distinguishable
MODEL_PATH = Path(__file__).with_name("models") / "blazeface_full_range_sparse.tflite"
MODEL_NAME = "mediapipe-blazeface-full-range-sparse@0.10.14"
# Measured on the evaluation set (samples/faces, bench/safety_eval.py --only faces): found faces
# scored 0.81-0.95, face-free photos at most 0.74 (a dandelion meadow) and 0.64 (Hubble deep field).
MIN_SCORE = 0.78
_INPUT = 192  # the model's input side; one anchor per 4x4 cell of a 48x48 grid
_IOU_MERGE = 0.3
_DETECT_LONG_SIDE = 960  # photos are looked at no larger than this
_TILE_FRACTION = 0.6  # tiles are squares of 60 % of the short side, overlapping


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


def _anchors() -> np.ndarray:
    cells = _INPUT // 4
    centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    xs, ys = np.meshgrid(centres, centres)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y1 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter + 1e-9)


def _suppressed(boxes: np.ndarray, scores: np.ndarray, min_score: float) -> list[FaceBox]:
    """The strongest box of each overlapping group at or above min_score, clipped to the photo."""
    keep = scores >= min_score
    boxes, scores = boxes[keep], scores[keep]
    order = np.argsort(-scores)
    found = []
    while len(order):
        best = order[0]
        x0, y0 = np.clip(boxes[best, :2], 0.0, 1.0)
        x1, y1 = np.clip(boxes[best, :2] + boxes[best, 2:], 0.0, 1.0)
        if x1 > x0 and y1 > y0:
            found.append(
                FaceBox(float(x0), float(y0), float(x1 - x0), float(y1 - y0), float(scores[best]))
            )
        order = order[_iou(boxes[best], boxes[order]) < _IOU_MERGE]
    return found


class FaceDetector:
    """Finds faces in a photo and reports their boxes (normalised to [0, 1])."""

    def __init__(self, model_path: Path = MODEL_PATH, min_score: float = MIN_SCORE) -> None:
        self.model = MODEL_NAME
        self.min_score = min_score
        self.unavailable = ""
        self._interpreter = None
        self._lock = threading.Lock()  # one interpreter: its tensors are not thread-safe
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            self.unavailable = f"the LiteRT interpreter (ai-edge-litert) is not installed: {exc}"
            return
        if not Path(model_path).is_file():
            self.unavailable = f"face model not found ({model_path})"
            return
        interpreter = Interpreter(model_path=str(model_path), num_threads=2)
        interpreter.allocate_tensors()
        self._input = interpreter.get_input_details()[0]["index"]
        outputs = interpreter.get_output_details()
        self._regressors = next(o["index"] for o in outputs if o["shape"][-1] == 16)
        self._scores = next(o["index"] for o in outputs if o["shape"][-1] == 1)
        self._anchors = _anchors()
        self._interpreter = interpreter

    @property
    def available(self) -> bool:
        """True when a detector is loaded (otherwise every signal is `evaluated=False`)."""
        return self._interpreter is not None

    def _run(self, photo: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (fractions of `photo`, xywh) and scores of every anchor for one letterboxed pass."""
        width, height = photo.size
        side = max(width, height)
        canvas = Image.new("RGB", (side, side))
        left, top = (side - width) // 2, (side - height) // 2
        canvas.paste(photo, (left, top))
        pixels = np.asarray(canvas.resize((_INPUT, _INPUT), Image.BILINEAR), dtype=np.float32)
        assert self._interpreter is not None
        with self._lock:
            self._interpreter.set_tensor(self._input, (pixels / 127.5 - 1.0)[None])
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._regressors)[0]
            logits = self._interpreter.get_tensor(self._scores)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        centre = raw[:, :2] / _INPUT + self._anchors
        size = raw[:, 2:4] / _INPUT
        corner = (centre - size / 2) * side - np.array([left, top])
        scale = np.array([width, height], dtype=np.float32)
        return np.concatenate([corner / scale, size * side / scale], axis=1), scores

    def find(self, photo: Image.Image) -> list[FaceBox]:
        """Every face in the photo, strongest first (empty when the detector is unavailable)."""
        if self._interpreter is None:
            return []
        photo = photo.convert("RGB")
        if max(photo.size) > _DETECT_LONG_SIDE:
            photo = photo.copy()
            photo.thumbnail((_DETECT_LONG_SIDE, _DETECT_LONG_SIDE), Image.BILINEAR)
        width, height = photo.size
        passes = [self._run(photo)]
        tile = round(min(width, height) * _TILE_FRACTION)
        if max(width, height) > 2 * _INPUT and tile >= _INPUT:
            for top in _offsets(height, tile):
                for left in _offsets(width, tile):
                    boxes, scores = self._run(photo.crop((left, top, left + tile, top + tile)))
                    boxes = boxes * np.array([tile / width, tile / height] * 2) + np.array(
                        [left / width, top / height, 0.0, 0.0]
                    )
                    passes.append((boxes, scores))
        boxes = np.concatenate([b for b, _ in passes])
        scores = np.concatenate([s for _, s in passes])
        return _suppressed(boxes, scores, self.min_score)

    def detect(self, photo: Image.Image) -> list[Signal]:
        """One `faces.count` signal; detail holds the count and boxes as JSON."""
        if self._interpreter is None:
            return [Signal(FACES, 0.0, self.model, evaluated=False, detail=self.unavailable)]
        faces = self.find(photo)
        score = min(len(faces), MAX_COUNTED) / MAX_COUNTED
        detail = json.dumps({"count": len(faces), "boxes_xywh": [f.xywh() for f in faces]})
        return [Signal(FACES, score, self.model, detail=detail)]


def _offsets(length: int, tile: int) -> list[int]:
    """Tile starts along one side: evenly spread, overlapping, the last flush with the edge."""
    if length <= tile:
        return [0]
    count = max(2, int(np.ceil(length / tile)))
    return sorted({round(v) for v in np.linspace(0, length - tile, count)})


@functools.lru_cache(maxsize=1)
def shared_detector() -> FaceDetector:
    """One detector per process for callers without a composition root (the generator's fallback)."""
    return FaceDetector()
