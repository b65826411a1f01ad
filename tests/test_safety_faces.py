"""Face signal: texture false positives are verified away; real portraits still count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from safety.faces import FaceDetector

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _count(detector: FaceDetector, name: str) -> int:
    (signal,) = detector.detect(Image.open(SAMPLES / name).convert("RGB"))
    return json.loads(signal.detail)["count"]


@pytest.mark.parametrize(
    # The Haar cascade alone found a face in each of these textures (issue 12).
    "name",
    ["eval/forest-stream.jpg", "eval/dragonfly-leaves.jpg", "eval/aitzgorri-meadow.jpg"],
)
def test_textures_have_no_faces(detector: FaceDetector, name: str) -> None:
    assert _count(detector, name) == 0


@pytest.mark.parametrize("name", ["astronaut-eileen-collins.png", "eval/grace-hopper.jpg"])
def test_portraits_keep_their_face(detector: FaceDetector, name: str) -> None:
    assert _count(detector, name) == 1
