"""NudeNet body-part detector (optional extra) for photos and sampled video frames.

NudeNet's wheel (`nudenet` 3.4.2) ships a YOLOv8 "320n" ONNX detector with 18 body-part classes.
Its licence file is AGPL-3.0 (the metadata says MIT), so it is an optional extra, never in the
default install: without it every signal is `evaluated=False` (never a fake score), and a policy
that requires `nudenet.exposed` fails closed.

Only the shipped weights are used: the file is located with `importlib.util.find_spec` (the
package's own code is never imported) and run through our own ONNX Runtime session with a set
thread count, batched, with vectorised decoding (the package decodes its 2,100 candidate rows in
a Python loop, one image per call). Inputs are RGB, as the model was trained: the package's own
`detect(path)` swaps channels twice and feeds colour photos as BGR, which lowers its scores (a
face at 0.81 scores 0.72 that way); fed an RGB array it agrees with this module (see the tests).

The score is the strongest raw detection over the exposed classes (no confidence floor, no NMS:
NMS never removes the strongest box), and `detail` is JSON with that detection's class and box
in the scored image's pixels, `[x, y, width, height]`.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from safety.onnx_session import quiet_session
from safety.signals import Signal

EXPOSED = "nudenet.exposed"
UNAVAILABLE = "nudenet extra not installed (AGPL-3.0: pip install 'stillguard[nudenet]')"

# Sexual-content classes. MALE_BREAST_EXPOSED is left out on purpose: a shirtless man on a beach
# is benign for our default policy, and counting it would block ordinary holiday photos.
EXPOSED_CLASSES: tuple[str, ...] = (
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
)

_WEIGHTS = "320n.onnx"
_INPUT_SIZE = 320  # the resolution the shipped model was exported and trained at
# As for Open NSFW: ONNX Runtime's arena keeps the largest batch's activations (16 images: 116 MB
# of growth), and bigger batches are no faster on two cores.
_BATCH = 4


def shipped_weights() -> Path | None:
    """Path of the ONNX file inside the installed `nudenet` wheel, or None when not installed."""
    try:
        spec = importlib.util.find_spec("nudenet")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / _WEIGHTS
        if candidate.is_file():
            return candidate
    return None


def _package_version() -> str:
    try:
        return version("nudenet")
    except PackageNotFoundError:
        return "unknown"


class NudeNetDetector:
    """Scores photos and frames for exposed body parts with NudeNet's 320n detector; load once."""

    def __init__(
        self,
        *,
        weights: str | Path | None = None,
        threads: int = 2,
        classes: Iterable[str] = EXPOSED_CLASSES,
    ) -> None:
        self._session: Any = None
        path = Path(weights) if weights is not None else shipped_weights()
        if path is None:
            self.model = "nudenet-320n (not installed)"
            self.unavailable = UNAVAILABLE
            return
        if not path.is_file():
            raise FileNotFoundError(f"NudeNet weights {path} do not exist")
        self._session = quiet_session(path, threads)
        self._input = self._session.get_inputs()[0].name
        self.labels = _labels(self._session)
        wanted = tuple(classes)
        missing = [c for c in wanted if c not in self.labels]
        if missing:
            raise ValueError(f"NudeNet model has no classes {missing}; it has {self.labels}")
        self.classes = wanted
        self._class_index = np.array([self.labels.index(c) for c in wanted], dtype=np.int64)
        self.unavailable = ""
        self.model = f"nudenet-320n@{_package_version()}"

    @property
    def available(self) -> bool:
        """True when the detector is loaded (the `nudenet` extra is installed)."""
        return self._session is not None

    def class_detections(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per image and per model class, the strongest score and its box: (N, C) and (N, C, 4).

        Images are RGB uint8 (H, W, 3) arrays of any size; boxes are `[x, y, w, h]` in each
        image's own pixels. Raises RuntimeError when the extra is not installed.
        """
        if not self.available:
            raise RuntimeError(self.unavailable)
        scores, boxes = [], []
        for start in range(0, len(images), _BATCH):
            chunk = images[start : start + _BATCH]
            batch, scales, sizes = zip(*(_letterbox(img) for img in chunk), strict=True)
            output = self._session.run(None, {self._input: np.stack(batch)})[0]  # (B, 4+C, A)
            class_scores = output[:, 4:, :]  # (B, C, A)
            best = class_scores.argmax(axis=2)  # (B, C): anchor of each class's strongest box
            scores.append(np.take_along_axis(class_scores, best[..., None], axis=2)[..., 0])
            centred = np.take_along_axis(output[:, None, :4, :], best[:, :, None, None], axis=3)
            boxes.append(_to_pixels(centred[..., 0], np.array(scales), np.array(sizes)))
        if not scores:
            n = len(self.labels)
            return np.empty((0, n), dtype=np.float32), np.empty((0, n, 4), dtype=np.int64)
        return np.concatenate(scores), np.concatenate(boxes)

    def _exposed(self, images: Sequence[np.ndarray]) -> list[tuple[float, str, list[int]]]:
        """Per image: the strongest exposed-class score, its class and its box."""
        scores, boxes = self.class_detections(images)
        scores, boxes = scores[:, self._class_index], boxes[:, self._class_index]
        out = []
        for image_scores, image_boxes in zip(scores, boxes, strict=True):
            j = int(image_scores.argmax())
            out.append((_clip01(float(image_scores[j])), self.classes[j], image_boxes[j].tolist()))
        return out

    def score_photo(self, photo: Image.Image) -> list[Signal]:
        """One `nudenet.exposed` signal for a still photo, with the strongest box in `detail`."""
        if not self.available:
            return [self._not_evaluated()]
        score, label, box = self._exposed([np.asarray(photo.convert("RGB"))])[0]
        return [Signal(EXPOSED, round(score, 4), self.model, detail=_detail(label, box))]

    def score_frames(self, frames: np.ndarray, times_s: np.ndarray) -> list[Signal]:
        """The peak `nudenet.exposed` over RGB uint8 frames (N, H, W, 3), at the peak's time."""
        if not self.available:
            return [self._not_evaluated()]
        times = np.asarray(times_s, dtype=np.float64)
        if len(frames) != len(times):
            raise ValueError(f"{len(frames)} frames but {len(times)} timestamps")
        if len(frames) == 0:
            return [self._not_evaluated("no frames")]
        # Each frame's shape is checked where it is letterboxed.
        results = self._exposed([np.asarray(frame, dtype=np.uint8) for frame in frames])
        peak = max(range(len(results)), key=lambda k: results[k][0])
        score, label, box = results[peak]
        t = float(times[peak])
        detail = _detail(label, box, time_s=t, frame=peak)
        return [Signal(EXPOSED, round(score, 4), self.model, start_s=t, end_s=t, detail=detail)]

    def _not_evaluated(self, why: str = "") -> Signal:
        return Signal(EXPOSED, 0.0, self.model, evaluated=False, detail=why or self.unavailable)


def _labels(session: Any) -> list[str]:
    """Class names from the model's own metadata (Ultralytics writes them as a dict literal)."""
    names = session.get_modelmeta().custom_metadata_map.get("names")
    if not names:
        raise ValueError("NudeNet model has no class names in its metadata")
    parsed = ast.literal_eval(names)
    return [parsed[i] for i in sorted(parsed)]


def _letterbox(image: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
    """RGB image -> (3, 320, 320) float input: longest side scaled to 320, black pad right/bottom.

    The same geometry as NudeNet's own preprocessing (pad to a square at the top-left, then
    resize), done in the cheaper order: resize first, then pad.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB (H, W, 3) image, got shape {image.shape}")
    height, width = image.shape[:2]
    scale = max(height, width) / _INPUT_SIZE
    new_w = max(1, min(_INPUT_SIZE, round(width / scale)))
    new_h = max(1, min(_INPUT_SIZE, round(height / scale)))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((_INPUT_SIZE, _INPUT_SIZE, 3), dtype=np.float32)
    canvas[:new_h, :new_w] = resized
    return (canvas * (1.0 / 255.0)).transpose(2, 0, 1), scale, (width, height)


def _to_pixels(centred: np.ndarray, scales: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Model boxes (B, C, 4) as centre x, y, w, h at 320 -> integer [x, y, w, h] in image pixels."""
    scale = scales[:, None, None]
    cx, cy, w, h = np.moveaxis(centred * scale, -1, 0)
    width, height = sizes[:, 0:1], sizes[:, 1:2]
    x = np.clip(cx - w / 2, 0, width)
    y = np.clip(cy - h / 2, 0, height)
    w = np.minimum(w, width - x)
    h = np.minimum(h, height - y)
    return np.stack([x, y, w, h], axis=-1).astype(np.int64)


def _detail(label: str, box: list[int], **where: float) -> str:
    return json.dumps({"class": label, "box": box, **where}, sort_keys=True)


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))
