"""Face signal: BlazeFace finds real faces and none in the textures that fooled the Haar cascade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from safety.blaze import ssd_anchors
from safety.faces import FaceDetector

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _count(detector: FaceDetector, name: str) -> int:
    (signal,) = detector.detect(Image.open(SAMPLES / name).convert("RGB"))
    assert signal.evaluated, signal.detail
    return json.loads(signal.detail)["count"]


@pytest.mark.parametrize(
    # The Haar cascade found faces in a Milky Way and in forests (issue 12); bark and stars too.
    "name",
    [
        "faces/without/milky-way.jpg",
        "faces/without/hubble-deep-field.jpg",
        "faces/without/bark.jpg",
        "faces/without/forest-path.jpg",
        "eval/forest-stream.jpg",
        "eval/dragonfly-leaves.jpg",
        "eval/aitzgorri-meadow.jpg",
        "faces/without/plane-clouds.jpg",  # the short-range model's best face-free score (0.75)
        "faces/without/starry-sky-milky-way.jpg",
    ],
)
def test_textures_skies_and_foliage_have_no_faces(detector: FaceDetector, name: str) -> None:
    assert _count(detector, name) == 0


@pytest.mark.parametrize(
    ("name", "faces"),
    [
        ("astronaut-eileen-collins.png", 1),
        ("eval/grace-hopper.jpg", 1),
        ("faces/with/apollo11-crew.jpg", 3),
        ("faces/with/woman-turned.jpg", 1),
        # close and turned faces that only the short-range model finds (full range: 0.5-0.7)
        ("faces/with/woman-profile-looking-up.jpg", 1),
        ("faces/with/man-hat-bw.jpg", 1),
    ],
)
def test_real_faces_are_found(detector: FaceDetector, name: str, faces: int) -> None:
    assert _count(detector, name) == faces


def test_boxes_are_fractions_around_the_face(detector: FaceDetector) -> None:
    photo = Image.open(SAMPLES / "eval" / "grace-hopper.jpg").convert("RGB")
    (box,) = detector.find(photo)
    assert 0.0 <= box.x < box.x + box.width <= 1.0 and 0.0 <= box.y < box.y + box.height <= 1.0
    assert 0.2 < box.x + box.width / 2 < 0.8 and 0.1 < box.y + box.height / 2 < 0.6  # the head


def test_small_faces_of_a_group_are_found(detector: FaceDetector) -> None:
    # three players about 30 px high in a 640 px photo; the third is turned away
    assert _count(detector, "faces/with/soccer-players.jpg") >= 2


def test_anchor_grids_match_the_models_outputs() -> None:
    assert len(ssd_anchors(128, [8, 16, 16, 16])) == 896  # BlazeFace short range
    assert len(ssd_anchors(192, [4], per_layer=1)) == 2304  # BlazeFace full range
    assert len(ssd_anchors(224, [8, 16, 32, 32, 32])) == 2254  # BlazePose detector


def test_missing_model_is_not_evaluated_never_no_faces(tmp_path: Path) -> None:
    detector = FaceDetector(model_path=tmp_path / "absent.tflite")
    (signal,) = detector.detect(Image.new("RGB", (64, 64)))
    assert not detector.available and not signal.evaluated and "not found" in signal.detail
