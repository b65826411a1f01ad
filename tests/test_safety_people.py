"""Person signal: BlazePose's detector finds people whose faces cannot be seen, not clouds or stars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from safety.people import PersonDetector

FACES = Path(__file__).resolve().parent.parent / "samples" / "faces"


@pytest.fixture(scope="module")
def detector() -> PersonDetector:
    return PersonDetector()


def _count(detector: PersonDetector, name: str) -> int:
    (signal,) = detector.detect(Image.open(FACES / name))
    assert signal.evaluated, signal.detail
    return json.loads(signal.detail)["count"]


@pytest.mark.parametrize("name", ["people/child-from-behind.jpg", "people/surfer-distant.jpg"])
def test_people_seen_from_behind_or_far_away_are_counted(
    detector: PersonDetector, name: str
) -> None:
    assert _count(detector, name) >= 1


@pytest.mark.parametrize(
    # tiles of these score 0.71-0.91 as bodies, upside down or lying: the upright check drops them
    "name",
    ["without/plane-clouds.jpg", "without/milky-way.jpg", "without/bark.jpg"],
)
def test_clouds_stars_and_bark_have_no_people(detector: PersonDetector, name: str) -> None:
    assert _count(detector, name) == 0


def test_missing_model_is_not_evaluated(tmp_path: Path) -> None:
    (signal,) = PersonDetector(model_path=tmp_path / "absent.tflite").detect(
        Image.new("RGB", (8, 8))
    )
    assert not signal.evaluated and "not found" in signal.detail
