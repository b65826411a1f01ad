"""Faces are detected once: the generator uses the input gate's boxes instead of looking again."""

from __future__ import annotations

import pytest
from PIL import Image

import safety.faces
from generation import GenerationOptions
from generation.backends import ProceduralBackend
from generation.procedural.photo import faces_in_frame
from stillguard.pipeline.records import face_boxes


def test_photo_boxes_map_into_the_cover_cropped_frame() -> None:
    photo = Image.new("RGB", (400, 200))  # 2:1 photo into a 1:1 frame: 100 px cut each side
    (box,) = faces_in_frame(photo, 100, 100, [[0.5, 0.25, 0.1, 0.2]])
    assert box == (50, 25, 20, 20)
    assert faces_in_frame(photo, 100, 100, [[0.0, 0.0, 0.1, 0.2]]) == []  # cropped away


def test_generator_with_the_gates_boxes_never_runs_the_detector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_second_detection() -> None:
        raise AssertionError("the generator detected faces again")  # pragma: no cover

    monkeypatch.setattr(safety.faces, "shared_detector", no_second_detection)
    options = GenerationOptions(width=96, height=64, fps=8, duration_s=1.0, audio=False)
    clip = ProceduralBackend().generate(
        Image.new("RGB", (160, 120), "skyblue"), options, faces=[[0.4, 0.3, 0.2, 0.3]]
    )
    assert len(clip.frames) == 8


def test_face_boxes_none_when_the_gate_could_not_look() -> None:
    evaluated = {"category": "faces.count", "evaluated": True, "detail": '{"boxes_xywh": []}'}
    assert face_boxes([evaluated]) == []
    assert face_boxes([{**evaluated, "evaluated": False}]) is None
