"""MediaPipe's single-shot detectors (BlazeFace, BlazePose) run by the LiteRT interpreter.

Each model takes a square RGB picture scaled to [-1, 1] and answers, for every anchor of a fixed
grid, a box (centre offset and size, in input pixels), a few keypoints and a logit. The anchors
follow MediaPipe's `SsdAnchorsCalculator` with fixed-size anchors: one centre per grid cell, two
per cell for each layer of that stride (the model's graph options, from the mediapipe 0.10.14
wheel). Photos are letterboxed into the square, so boxes come back as fractions of the photo.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def ssd_anchors(input_size: int, strides: list[int], per_layer: int = 2) -> np.ndarray:
    """Anchor centres (x, y as fractions), in the order the model's outputs are laid out."""
    groups: list[np.ndarray] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = next((i for i, s in enumerate(strides[layer:]) if s != stride), len(strides) - layer)
        cells = input_size // stride
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        xs, ys = np.meshgrid(centres, centres)
        groups.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_layer * same, 0))
        layer += same
    return np.concatenate(groups)


class SsdModel:
    """One loaded detector: `run(photo)` gives boxes, keypoints and scores for every anchor."""

    def __init__(self, model_path: Path, input_size: int, anchors: np.ndarray) -> None:
        from ai_edge_litert.interpreter import Interpreter  # ImportError: the caller reports it

        interpreter = Interpreter(model_path=str(model_path), num_threads=2)
        interpreter.allocate_tensors()
        self._input = interpreter.get_input_details()[0]["index"]
        outputs = interpreter.get_output_details()
        self._regressors = next(o["index"] for o in outputs if o["shape"][-1] > 1)
        self._scores = next(o["index"] for o in outputs if o["shape"][-1] == 1)
        self._interpreter = interpreter
        self._lock = threading.Lock()  # one interpreter: its tensors are not thread-safe
        self.input_size = input_size
        self.anchors = anchors

    def run(self, photo: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xywh), keypoints ((x, y) pairs) as fractions of `photo`, and sigmoid scores."""
        width, height = photo.size
        side = max(width, height)
        canvas = Image.new("RGB", (side, side))
        left, top = (side - width) // 2, (side - height) // 2
        canvas.paste(photo, (left, top))
        size = self.input_size
        pixels = np.asarray(canvas.resize((size, size), Image.BILINEAR), dtype=np.float32)
        with self._lock:
            self._interpreter.set_tensor(self._input, (pixels / 127.5 - 1.0)[None])
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._regressors)[0]
            logits = self._interpreter.get_tensor(self._scores)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        scale = np.array([width, height], dtype=np.float32)
        offset = np.array([left, top], dtype=np.float32)

        def to_photo(points: np.ndarray) -> np.ndarray:  # input-grid fractions -> photo fractions
            return (points * side - offset) / scale

        centre = raw[:, :2] / size + self.anchors
        box_size = raw[:, 2:4] / size
        boxes = np.concatenate([to_photo(centre - box_size / 2), box_size * side / scale], axis=1)
        keypoints = raw[:, 4:].reshape(len(raw), -1, 2) / size + self.anchors[:, None, :]
        keypoints = to_photo(keypoints.reshape(-1, 2)).reshape(len(raw), -1, 2)
        return boxes, keypoints, scores


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one xywh box with each of `boxes`."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y1 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter + 1e-9)


def suppress(boxes: np.ndarray, scores: np.ndarray, overlap: float) -> list[int]:
    """Indices of the strongest box of each group overlapping by more than `overlap` (IoU)."""
    return strongest_of_each(scores, lambda best, rest: iou(boxes[best], boxes[rest]) < overlap)


def strongest_of_each(
    scores: np.ndarray, apart: Callable[[int, np.ndarray], np.ndarray]
) -> list[int]:
    """Greedy suppression: indices of the strongest detection of each group, where
    `apart(best, rest)` says which of the indices `rest` are not the same thing as `best`."""
    order = np.argsort(-scores)
    kept: list[int] = []
    while len(order):
        best = int(order[0])
        kept.append(best)
        order = order[apart(best, order)]
    return kept


def tile_offsets(length: int, tile: int) -> list[int]:
    """Tile starts along one side: evenly spread, overlapping, the last flush with the edge."""
    if length <= tile:
        return [0]
    count = max(2, int(np.ceil(length / tile)))
    return sorted({round(v) for v in np.linspace(0, length - tile, count)})
