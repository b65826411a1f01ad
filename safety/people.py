"""People beyond their faces: MediaPipe's BlazePose person detector, as a `people.count` signal.

A face detector misses a person seen from behind, silhouetted or far away. MediaPipe's pose
detector (`mediapipe/modules/pose_detection/pose_detection.tflite` in the mediapipe 0.10.14 wheel,
Apache-2.0, see `safety/models/LICENSE-mediapipe.txt`; 2.9 MB, carried here as
`safety/models/blazepose_detector.tflite`) answers, per anchor, a score and
four body keypoints: mid-hip, a point on the full-body circle, mid-shoulder and a point on the
upper-body circle. It looks at the whole photo (224x224, letterboxed) and at overlapping tiles,
as the face detector does, so distant figures are found.

Tiles alone also "find" bodies in clouds and leaves, with scores as high as real ones (0.84-0.91
on samples/faces/without); most of those are upside down or lying, so a detection counts only when
its shoulders are above its hips and the body leans less than `MAX_LEAN_DEGREES`. Measured by
`bench/face_eval.py` (`people`). The input gate reports it beside `faces.count`, and the default
pack restricts on it as on faces (`input.people.restrict`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from safety.blaze import SsdModel, ssd_anchors, strongest_of_each, tile_offsets
from safety.signals import Signal

PEOPLE = "people.count"
MAX_COUNTED = 10
MODEL_PATH = Path(__file__).with_name("models") / "blazepose_detector.tflite"
MODEL_NAME = "mediapipe-blazepose-detector@0.10.14"
MIN_SCORE = 0.65
MAX_LEAN_DEGREES = 60.0
# Two detections whose mid-hips lie within this share of the larger body radius are one person.
# Measured on bike-riders: one rider's detections 0.02-0.32 apart, the two riders 0.96-1.0.
SAME_PERSON = 0.5
_INPUT = 224
_TILE_FRACTION = 0.6
_DETECT_LONG_SIDE = 960


def _upright(keypoints: np.ndarray) -> np.ndarray:
    """Per detection: shoulders above hips, leaning less than MAX_LEAN_DEGREES from vertical."""
    hip, shoulder = keypoints[:, 0], keypoints[:, 2]
    down = hip - shoulder  # image y grows downwards
    lean = np.degrees(np.arctan2(np.abs(down[:, 0]), down[:, 1]))
    return (down[:, 1] > 0) & (lean < MAX_LEAN_DEGREES)


def _one_per_person(hips: np.ndarray, radii: np.ndarray, scores: np.ndarray) -> list[int]:
    """The strongest detection of each person: others whose mid-hip lies within SAME_PERSON of
    the larger body radius of it are the same person, seen whole and in a tile (their boxes, a
    head's, differ too much in size to overlap: grace-hopper's portrait counted 3 people)."""

    def apart(best: int, rest: np.ndarray) -> np.ndarray:
        reach = SAME_PERSON * np.maximum(radii[rest], radii[best])
        return np.linalg.norm(hips[rest] - hips[best], axis=1) >= reach

    return strongest_of_each(scores, apart)


class PersonDetector:
    """Counts people in a photo, whether or not their faces can be seen."""

    def __init__(self, model_path: Path = MODEL_PATH, min_score: float = MIN_SCORE) -> None:
        self.model = MODEL_NAME
        self.min_score = min_score
        self.unavailable = ""
        self._detector: SsdModel | None = None
        if not Path(model_path).is_file():
            self.unavailable = f"person model not found ({model_path})"
            return
        try:
            anchors = ssd_anchors(_INPUT, [8, 16, 32, 32, 32])
            self._detector = SsdModel(model_path, _INPUT, anchors)
        except ImportError as exc:
            self.unavailable = f"the LiteRT interpreter (ai-edge-litert) is not installed: {exc}"

    @property
    def available(self) -> bool:
        """True when the model is loaded (otherwise the signal is `evaluated=False`)."""
        return self._detector is not None

    def find(self, photo: Image.Image) -> list[tuple[float, float, float]]:
        """Each person as (x, y) of the mid-hip (fractions of the photo) and the score."""
        if self._detector is None:
            return []
        photo = photo.convert("RGB")
        if max(photo.size) > _DETECT_LONG_SIDE:
            photo = photo.copy()
            photo.thumbnail((_DETECT_LONG_SIDE, _DETECT_LONG_SIDE), Image.BILINEAR)
        width, height = photo.size
        tile = round(min(width, height) * _TILE_FRACTION)
        crops = [(0, 0, width, height)]
        crops += [
            (left, top, left + tile, top + tile)
            for top in tile_offsets(height, tile)
            for left in tile_offsets(width, tile)
        ]
        hips, radii, scores = [], [], []
        for left, top, right, bottom in crops:
            _, keypoints, score = self._detector.run(photo.crop((left, top, right, bottom)))
            keep = (score >= self.min_score) & _upright(keypoints)
            size = np.array([right - left, bottom - top])
            hip = keypoints[keep, 0] * size + (left, top)  # in photo pixels
            hips.append(hip)
            radii.append(np.linalg.norm(keypoints[keep, 1] * size + (left, top) - hip, axis=1))
            scores.append(score[keep])
        all_hips, all_radii, all_scores = map(np.concatenate, (hips, radii, scores))
        return [
            (float(all_hips[i, 0] / width), float(all_hips[i, 1] / height), float(all_scores[i]))
            for i in _one_per_person(all_hips, all_radii, all_scores)
        ]

    def detect(self, photo: Image.Image) -> list[Signal]:
        """One `people.count` signal; detail holds the count and each person's mid-hip point."""
        if self._detector is None:
            return [Signal(PEOPLE, 0.0, self.model, evaluated=False, detail=self.unavailable)]
        people = self.find(photo)
        detail = {
            "count": len(people),
            "hips_xy": [[round(x, 4), round(y, 4)] for x, y, _ in people],
        }
        score = min(len(people), MAX_COUNTED) / MAX_COUNTED
        return [Signal(PEOPLE, score, self.model, detail=json.dumps(detail))]
