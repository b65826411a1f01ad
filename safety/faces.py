"""Face detection on the input photo, as signals, so policies can treat animating real people apart.

Uses OpenCV's Haar cascade (frontal faces), then verifies each box: a face must show two eyes
(OpenCV's eye cascade) in its upper part. Textures (a Milky Way, foliage, bark) fool the face
cascade but rarely show two eye-shaped blobs where eyes go. OpenCV 4.x wheels ship both cascades;
OpenCV 5 removed `CascadeClassifier` and the cascade files. Without them the signal says "not evaluated" rather
than "no faces": a policy that requires faces then fails closed.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from safety.signals import Signal

FACES = "faces.count"
MAX_COUNTED = 10  # score = faces / 10, capped: "one face" and "a crowd" stay distinguishable
_CASCADE = "haarcascade_frontalface_default.xml"
_EYE_CASCADE = "haarcascade_eye.xml"
_EYES_REGION = 0.6  # eyes are looked for in the upper 60 % of a face box
_DETECT_LONG_SIDE = 960  # detection on a downscaled copy: faces under ~2 % of it are not people


class FaceDetector:
    """Counts frontal faces in a photo and reports their boxes (normalised to [0, 1])."""

    def __init__(self, cascade_path: Path | None = None) -> None:
        self.model = f"opencv-haar-frontalface@{cv2.__version__}"
        self._cascade = None
        self.unavailable = ""
        factory = getattr(cv2, "CascadeClassifier", None)
        if cascade_path is None:
            folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
            cascade_path = Path(folder) / _CASCADE if folder else None
        if factory is None:
            self.unavailable = (
                f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5 removed it)"
            )
        elif cascade_path is None or not Path(cascade_path).is_file():
            self.unavailable = f"Haar cascade file not found ({cascade_path})"
        else:
            cascade = factory(str(cascade_path))
            if cascade.empty():
                self.unavailable = f"Haar cascade {cascade_path} failed to load"
            else:
                self._cascade = cascade
                self._eyes = factory(str(Path(cascade_path).with_name(_EYE_CASCADE)))
                if self._eyes.empty():
                    self._cascade = None
                    self.unavailable = f"eye cascade {_EYE_CASCADE} failed to load"
        self.model += "+eye-verified"

    def _has_two_eyes(self, upper_face: np.ndarray) -> bool:
        """True when the eye cascade finds two eyes in the upper part of a face box."""
        side = upper_face.shape[1]
        eyes = self._eyes.detectMultiScale(
            upper_face,
            scaleFactor=1.05,
            minNeighbors=2,
            minSize=(max(5, side // 12),) * 2,
            maxSize=(side // 2,) * 2,
        )
        return len(eyes) >= 2

    @property
    def available(self) -> bool:
        """True when a detector is loaded (otherwise every signal is `evaluated=False`)."""
        return self._cascade is not None

    def detect(self, photo: Image.Image) -> list[Signal]:
        """One `faces.count` signal; detail holds the count and boxes as JSON."""
        if self._cascade is None:
            return [Signal(FACES, 0.0, self.model, evaluated=False, detail=self.unavailable)]
        gray = np.asarray(photo.convert("L"))
        h, w = gray.shape
        scale = min(1.0, _DETECT_LONG_SIDE / max(h, w))
        if scale < 1.0:
            gray = cv2.resize(
                gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        gray = cv2.equalizeHist(gray)
        min_side = max(20, round(min(gray.shape) * 0.04))
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
        )
        gh, gw = gray.shape
        boxes = [
            [round(x / gw, 4), round(y / gh, 4), round(bw / gw, 4), round(bh / gh, 4)]
            for x, y, bw, bh in (found if len(found) else [])
            if self._has_two_eyes(gray[y : y + round(bh * _EYES_REGION), x : x + bw])
        ]
        score = min(len(boxes), MAX_COUNTED) / MAX_COUNTED
        detail = json.dumps({"count": len(boxes), "boxes_xywh": boxes})
        return [Signal(FACES, score, self.model, detail=detail)]
