"""Haze and mist where the scene suggests them (issue 16): a veil that drifts across the distance
of a photo that already shows haze, lightening toward the airlight, never over a face, and
nothing on a crisp photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation import GenerationOptions, generate_clip
from generation.procedural import analyze_photo, mist
from generation.scene import analyze_scene
from tests.support.samples import SAMPLES

MISTY = SAMPLES / "eval" / "jetty-grey-mist.jpg"
CRISP = ["bike-riders.jpg", "grace-hopper.jpg", "surfer-wave.jpg", "kite-sky.jpg"]
SMALL = {"width": 320, "height": 180, "duration_s": 2.0, "fps": 12, "audio": False}


def _photo(path) -> Image.Image:
    return Image.open(path).convert("RGB")


def _with_and_without_mist(monkeypatch, photo, faces=None) -> tuple[np.ndarray, np.ndarray]:
    options = GenerationOptions(**SMALL)
    with_mist = generate_clip(photo, options, faces=faces).frames
    monkeypatch.setattr(mist, "prepare", lambda ctx, sky_canvas: None)
    without = generate_clip(photo, options, faces=faces).frames
    return with_mist.astype(np.int16), without.astype(np.int16)


def test_scene_reading_tells_mist_from_a_crisp_distance() -> None:
    assert analyze_scene(np.asarray(_photo(MISTY)), find_faces=False).haze > 0.7
    for name in CRISP:
        scene = analyze_scene(np.asarray(_photo(SAMPLES / "eval" / name)), find_faces=False)
        assert scene.haze < 0.3, (name, scene.haze)


def test_crisp_photos_get_no_mist() -> None:
    for name in CRISP:
        clip = generate_clip(_photo(SAMPLES / "eval" / name), GenerationOptions(**SMALL))
        assert not [m for m in clip.scene["motions"] if m["region"] == "haze"], name


def test_mist_drifts_across_the_distance_and_only_lightens_toward_the_air(monkeypatch) -> None:
    photo = _photo(MISTY)
    clip = generate_clip(photo, GenerationOptions(**SMALL))
    (motion,) = [m for m in clip.scene["motions"] if m["region"] == "haze"]
    assert motion["kind"] == "mist drift" and motion["opacity"] > 0.1 and motion["speed_px_s"]
    _fitted, scene = analyze_photo(photo, SMALL["width"], SMALL["height"])
    air = np.array(scene.airlight, np.int16)
    misted, plain = _with_and_without_mist(monkeypatch, photo)
    veil = misted - plain
    rows = np.flatnonzero(np.abs(veil).max(axis=(0, 2, 3)))
    # a band about the horizon, not the whole frame
    assert 0 < len(rows) < 0.6 * SMALL["height"]
    assert rows[0] < scene.horizon * SMALL["height"] < rows[-1]
    # what the veil changes moves toward the airlight colour (the light layer's gain after it
    # shifts a few levels either way, hence the share)
    moved = np.abs(veil) >= 3
    assert ((veil * (air - plain))[moved] > 0).mean() > 0.99
    # and the veil's thick and thin patches move: the veil itself differs from start to end
    band = veil[:, rows]
    assert np.abs(band[-1] - band[0]).mean() > 0.1
    assert np.abs(band).mean() > 1.0


@pytest.mark.parametrize("box", [(140, 40, 40, 40)])
def test_no_face_is_ever_veiled(monkeypatch, box) -> None:
    # a face box on the jetty's misty horizon: the veil goes around it
    misted, plain = _with_and_without_mist(monkeypatch, _photo(MISTY), faces=[box])
    x, y, w, h = box
    inner = (slice(None), slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
    assert np.abs(misted - plain)[:, 20:80].max() > 3  # there is mist on that band
    assert np.abs(misted[inner] - plain[inner]).max() <= 1


def test_mist_drifts_the_way_the_sky_does() -> None:
    # the sky's direction comes from the clip's shared random stream, the mist's must follow it:
    # clouds and mist drifting against each other read as two winds
    photo = _photo(MISTY)
    for seed in range(6):
        clip = generate_clip(photo, GenerationOptions(**SMALL, seed=seed))
        speeds = {m["region"]: m.get("speed_px_s") for m in clip.scene["motions"]}
        assert speeds["haze"] * speeds["sky"] > 0, (seed, speeds)


def test_a_longer_misty_clip_continues_a_shorter_one_frame_for_frame() -> None:
    photo = _photo(MISTY)
    short = generate_clip(photo, GenerationOptions(**{**SMALL, "duration_s": 1.0}, seed=3))
    longer = generate_clip(photo, GenerationOptions(**{**SMALL, "duration_s": 2.0}, seed=3))
    assert [m["region"] for m in short.scene["motions"]].count("haze") == 1
    assert np.array_equal(longer.frames[: short.frames.shape[0]], short.frames)
