"""Subtle life for people where the policy allows it (issue 16): hair and clothes sway and the
chest breathes, while the face, the identity region, keeps its shape (it moves only with the
camera, so no expression is invented)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation import GenerationOptions, generate_clip
from generation.procedural import analyze_photo
from tests.support.clip_quality import mean_flow
from tests.support.samples import SAMPLES

# Grace Hopper's official portrait: a real face, hair around it, a uniform below it
PORTRAIT = SAMPLES / "eval" / "grace-hopper.jpg"
SIZE = {"width": 240, "height": 320, "duration_s": 2.0, "fps": 12, "audio": False}


@pytest.fixture(scope="module")
def flows() -> dict[bool, dict[str, float]]:
    """Mean flow (pixels a frame) over the face, the hair above it and the torso below it, with
    people free to move (True) and held still (False)."""
    photo = Image.open(PORTRAIT).convert("RGB")
    _image, scene = analyze_photo(photo, SIZE["width"], SIZE["height"])
    assert len(scene.faces) == 1
    x, y, w, h = scene.faces[0]
    regions = {name: np.zeros((SIZE["height"], SIZE["width"]), bool) for name in ("face", "hair")}
    regions["face"][
        int(y + 0.15 * h) : int(y + 0.85 * h), int(x + 0.15 * w) : int(x + 0.85 * w)
    ] = 1
    regions["hair"][max(0, int(y - 0.45 * h)) : int(y - 0.1 * h), int(x) : int(x + w)] = 1
    regions["torso"] = np.zeros_like(regions["face"])
    regions["torso"][int(y + 1.6 * h) :, int(x) : int(x + w)] = 1
    return {
        free: mean_flow(
            generate_clip(photo, GenerationOptions(**SIZE, face_motion=free)).frames, regions
        )
        for free in (True, False)
    }


def test_hair_and_clothes_move_only_where_people_may_move(flows) -> None:
    free, held = flows[True], flows[False]
    assert free["hair"] >= 3 * held["hair"], flows
    assert free["torso"] >= 2 * held["torso"], flows
    assert free["torso"] >= 4 * free["face"] and free["hair"] >= 3 * free["face"], flows


def test_the_face_keeps_its_shape_while_the_person_moves(flows) -> None:
    # under a fifth of a pixel over the whole 2 s clip at this size: only the camera's slow push
    assert flows[True]["face"] * (2.0 * SIZE["fps"]) < 0.25, flows


def test_the_clip_says_people_move_and_their_faces_only_with_the_camera() -> None:
    photo = Image.open(PORTRAIT).convert("RGB")
    small = {**SIZE, "duration_s": 1.0, "fps": 8}
    free = generate_clip(photo, GenerationOptions(**small, face_motion=True)).scene["motions"]
    held = generate_clip(photo, GenerationOptions(**small, face_motion=False)).scene["motions"]
    people = [m for m in free if m["region"] == "people"]
    assert len(people) == 1 and "breathing" in people[0]["kind"] and people[0]["count"] == 1
    assert not any(m["region"] == "people" for m in held)
    assert any(m["region"] == "faces" and m["kind"] == "held still" for m in held)
