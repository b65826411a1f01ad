"""Person signal: BlazePose's detector finds people whose faces cannot be seen, not clouds or stars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from safety.people import PersonDetector

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def detector() -> PersonDetector:
    return PersonDetector()


def _count(detector: PersonDetector, name: str) -> int:
    (signal,) = detector.detect(Image.open(SAMPLES / name))
    assert signal.evaluated, signal.detail
    return json.loads(signal.detail)["count"]


@pytest.mark.parametrize(
    "name", ["faces/people/child-from-behind.jpg", "faces/people/surfer-distant.jpg"]
)
def test_people_seen_from_behind_or_far_away_are_counted(
    detector: PersonDetector, name: str
) -> None:
    assert _count(detector, name) >= 1


@pytest.mark.parametrize(
    ("name", "people"),
    # The whole photo and a tile each find the same person, at different sizes (grace-hopper's
    # three detections overlapped too little to be merged as boxes: counted 3, the riders 4).
    [("eval/grace-hopper.jpg", 1), ("eval/bike-riders.jpg", 2)],
)
def test_each_person_is_counted_once(detector: PersonDetector, name: str, people: int) -> None:
    assert _count(detector, name) == people


@pytest.mark.parametrize(
    # tiles of these score 0.71-0.91 as bodies, upside down or lying: the upright check drops them
    "name",
    ["faces/without/plane-clouds.jpg", "faces/without/milky-way.jpg", "faces/without/bark.jpg"],
)
def test_clouds_stars_and_bark_have_no_people(detector: PersonDetector, name: str) -> None:
    assert _count(detector, name) == 0


def test_missing_model_is_not_evaluated(tmp_path: Path) -> None:
    (signal,) = PersonDetector(model_path=tmp_path / "absent.tflite").detect(
        Image.new("RGB", (8, 8))
    )
    assert not signal.evaluated and "not found" in signal.detail
