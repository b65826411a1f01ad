"""A night star field (issue 16's night skies): read as sky by what it is made of, and turned
slowly as one by its own layer, every star kept, what stands in front of it still, a longer clip
continuing a shorter one and a loop meeting its start."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from generation import GenerationOptions, generate_clip
from generation.scene import analyze_scene
from tests.support.samples import SAMPLES
from tests.support.synthetic_photos import night_photo

MILKY_WAY = SAMPLES / "eval" / "starry-sky-milky-way.jpg"
NOT_STAR_FIELDS = [
    SAMPLES / "eval" / "kite-sky.jpg",
    SAMPLES / "eval" / "clear-sky-airplane.jpg",
    SAMPLES / "eval" / "aurora-lake-night.jpg",  # a few stars in an aurora: its sky drifts
    SAMPLES / "falcon9-dscovr-launch.jpg",  # floodlights on a pad at night
]
SMALL = {"width": 320, "height": 180, "duration_s": 2.0, "fps": 12, "audio": False}
# counting stars wants them a pixel or two wide: at 320x180 the Milky Way's are a third of one
STARRY = {**SMALL, "width": 640, "height": 360}
# no camera push and no light shift: what the star layer does not move stays exactly as it was
STILL_CAMERA = "no zoom, still light"


def _photo(path) -> Image.Image:
    return Image.open(path).convert("RGB")


def _star_motion(clip) -> dict | None:
    return next((m for m in clip.scene["motions"] if m["kind"] == "star field turning"), None)


def _over_glow(frame: np.ndarray) -> np.ndarray:
    """How far each pixel stands over the glow around it (a 5-pixel median), grey levels."""
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return gray.astype(np.float32) - cv2.medianBlur(gray, 5)


def _stars(frame: np.ndarray) -> int:
    """Bright points: local maxima standing 30 grey levels over the glow around them."""
    over = _over_glow(frame)
    return int(((over > 30) & (over == cv2.dilate(over, np.ones((3, 3), np.uint8)))).sum())


def _star_light(frame: np.ndarray) -> float:
    """The light of every point over the glow, summed: what fades when stars are lost or blurred."""
    return float(np.clip(_over_glow(frame), 0, None).sum())


def _shift(first: np.ndarray, last: np.ndarray) -> tuple[float, float]:
    """How far the picture moved from one frame to the other (x, y), by phase correlation."""
    a, b = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (first, last))
    (dx, dy), _response = cv2.phaseCorrelate(a, b)
    return dx, dy


def test_the_milky_way_is_read_as_a_star_field_of_sky() -> None:
    scene = analyze_scene(np.asarray(_photo(MILKY_WAY)), find_faces=False)
    assert scene.star_field
    assert scene.fraction("sky") > 0.95 and scene.fraction("water") == 0.0


@pytest.mark.parametrize("path", NOT_STAR_FIELDS, ids=lambda p: p.stem)
def test_daytime_skies_and_lit_scenes_at_night_are_not_star_fields(path) -> None:
    assert not analyze_scene(np.asarray(_photo(path)), find_faces=False).star_field


def test_a_lit_city_at_night_gets_no_star_layer() -> None:
    photo = night_photo(320, 180, stars=0, city=True)
    assert not analyze_scene(np.asarray(photo), find_faces=False).star_field
    assert _star_motion(generate_clip(photo, GenerationOptions(**SMALL), faces=[])) is None


def test_a_daytime_sky_drifts_as_clouds_not_as_stars() -> None:
    clip = generate_clip(_photo(NOT_STAR_FIELDS[0]), GenerationOptions(**SMALL), faces=[])
    assert _star_motion(clip) is None
    assert any(m["region"] == "sky" and m["kind"] == "drift" for m in clip.scene["motions"])


def test_the_stars_turn_with_the_sky_and_are_kept() -> None:
    clip = generate_clip(
        _photo(MILKY_WAY), GenerationOptions(**STARRY, motion_prompt=STILL_CAMERA), faces=[]
    )
    motion = _star_motion(clip)
    assert motion is not None and motion["region"] == "sky" and motion["speed_px_s"] != 0
    assert not any(m["kind"] == "drift" for m in clip.scene["motions"])
    # and the brightest of them twinkle
    assert any(m["region"] == "stars" and m["count"] > 0 for m in clip.scene["motions"])
    first, last = clip.frames[0], clip.frames[-1]
    dx, _dy = _shift(first, last)
    # the field crosses the frame's middle at speed_px_s (at this size), the way it says
    expected = motion["speed_px_s"] * (len(clip.frames) - 1) / STARRY["fps"]
    assert abs(dx - expected) < 0.3 * abs(expected), (dx, expected)
    # every star kept: nearly as many bright points and as much star light at the end as at the
    # start (a star a pixel wide, read between pixels, shares its light with a neighbour)
    start, end = _stars(first), _stars(last)
    assert start > 1000 and end >= 0.8 * start, (start, end)
    assert _star_light(last) >= 0.9 * _star_light(first)


def test_the_ground_and_a_tree_in_front_of_the_stars_stand_still() -> None:
    photo = night_photo(640, 360, stars=3000, tree=True)
    clip = generate_clip(photo, GenerationOptions(**SMALL, motion_prompt=STILL_CAMERA), faces=[])
    assert _star_motion(clip) is not None
    frames = clip.frames.astype(np.int16)
    pixels = np.asarray(photo.resize((SMALL["width"], SMALL["height"]), Image.BOX)).astype(np.int16)
    # what is black in the photo (the hills, the tree) a couple of pixels in from its edge
    black = (pixels.max(axis=2) < 12).astype(np.uint8)
    inside = cv2.erode(black, np.ones((5, 5), np.uint8)) > 0
    assert inside[:60].any()  # the tree's crown, up in the sky
    assert np.abs(frames[:, inside] - pixels[inside]).max() <= 1
    # while the sky above turns
    assert np.abs(frames[-1, :40] - frames[0, :40]).mean() > 1.0


def test_a_face_in_front_of_the_stars_is_never_moved() -> None:
    # a person small in the frame, standing under the sky (a larger face keeps no sky behind it:
    # scene._without_backdrop)
    face = (150, 70, 8, 8)
    # faces held still (the camera's push pinned on them); the light's shift, not a motion, off
    options = GenerationOptions(**SMALL, face_motion=False, motion_prompt="still light")
    clip = generate_clip(_photo(MILKY_WAY), options, faces=[face])
    assert _star_motion(clip) is not None
    x, y, w, h = face
    box = clip.frames[:, y : y + h, x : x + w]
    assert np.array_equal(box, np.broadcast_to(box[0], box.shape))


def test_a_longer_star_clip_continues_a_shorter_one_frame_for_frame() -> None:
    photo = _photo(MILKY_WAY)
    short = generate_clip(photo, GenerationOptions(**{**SMALL, "duration_s": 1.0}), faces=[])
    longer = generate_clip(photo, GenerationOptions(**SMALL), faces=[])
    assert np.array_equal(longer.frames[: short.frames.shape[0]], short.frames)


def test_a_looping_star_clip_meets_its_start_with_its_stars_kept() -> None:
    clip = generate_clip(
        _photo(MILKY_WAY),
        GenerationOptions(**STARRY, loop=True, motion_prompt=STILL_CAMERA),
        faces=[],
    )
    frames = clip.frames.astype(np.float32)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    seam = np.abs(frames[0] - frames[-1]).mean()
    assert seam <= 1.5 * np.median(steps), (seam, np.median(steps))
    # the turn goes out and back: halfway it is furthest, and no star is doubled or faded there
    middle = clip.frames[len(clip.frames) // 2]
    assert abs(_shift(clip.frames[0], middle)[0]) > 1.0
    assert _stars(middle) >= 0.8 * _stars(clip.frames[0])
    assert _star_light(middle) >= 0.9 * _star_light(clip.frames[0])
