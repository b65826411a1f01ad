"""The procedural backend: clip shape, motion where it belongs, determinism and awkward photos."""

import cv2
import numpy as np
import pytest

from generation import GENERATOR_NAME, GENERATOR_VERSION, GenerationOptions, generate_clip
from generation.loudness import integrated_loudness
from generation.scene import analyze_scene
from tests.support.clip_quality import mean_flow
from tests.support.synthetic_photos import flat_photo, landscape_photo

TINY = {"width": 160, "height": 90, "duration_s": 1.0, "fps": 8}


def test_clip_has_the_requested_shape_rate_and_duration():
    clip = generate_clip(landscape_photo(320, 180), GenerationOptions(**TINY))
    assert clip.frames.shape == (8, 90, 160, 3)
    assert clip.frames.dtype == np.uint8 and clip.frames.flags.c_contiguous
    assert clip.fps == 8 and clip.duration_s == pytest.approx(1.0)
    assert clip.audio is not None and clip.audio.dtype == np.float32
    assert clip.audio.shape == (2, 48000) and clip.sample_rate == 48000
    assert clip.backend == "procedural" and clip.backend_version == GENERATOR_VERSION
    assert GENERATOR_NAME == "stillguard-procedural"


def test_scene_description_is_json_ready_and_names_regions_motions_and_sound():
    import json

    clip = generate_clip(
        landscape_photo(320, 180, water=True, foliage=True), GenerationOptions(**TINY)
    )
    scene = json.loads(json.dumps(clip.scene))
    assert scene["regions"]["sky"] > 0.2 and scene["regions"]["water"] > 0.05
    assert scene["regions"]["foliage"] > 0.05
    kinds = {(m["region"], m["kind"]) for m in scene["motions"]}
    assert {("sky", "drift"), ("water", "ripple"), ("foliage", "sway")} <= kinds
    assert {"wind", "sea", "birdsong"} <= set(scene["audio_layers"])


def test_sky_moves_at_least_three_times_more_than_the_ground():
    photo = landscape_photo(320, 180, horizon=0.5)
    options = GenerationOptions(width=320, height=180, duration_s=2.0, fps=8)
    clip = generate_clip(photo, options)
    scene = analyze_scene(clip.frames[0])
    sky = cv2.resize(scene.sky, (320, 180)) > 0.5
    sky = cv2.erode(sky.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    sky[int(0.3 * 180) :] = False  # the drift fades out toward the horizon
    ground = np.zeros_like(sky)
    ground[int(0.6 * 180) :] = True
    flow = mean_flow(clip.frames, {"sky": sky, "ground": ground})
    sky_flow, ground_flow = flow["sky"], flow["ground"]
    assert sky_flow >= 3.0 * ground_flow, (sky_flow, ground_flow)
    assert sky_flow > 0.15  # pixels per frame at 320x180: visible


def test_water_moves_at_least_three_times_more_than_the_ground():
    photo = landscape_photo(320, 180, water=True)
    clip = generate_clip(
        photo, GenerationOptions(width=320, height=180, duration_s=2.0, fps=8, audio=False)
    )
    scene = analyze_scene(clip.frames[0])
    water = cv2.resize(scene.water, (320, 180)) > 0.5
    water = cv2.erode(water.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert water.sum() > 2000
    ground = np.zeros_like(water)
    ground[150:] = True  # below the water band: animated by nothing but the camera
    flow = mean_flow(clip.frames, {"water": water, "ground": ground})
    water_flow, ground_flow = flow["water"], flow["ground"]
    assert water_flow >= 3.0 * ground_flow, (water_flow, ground_flow)


def test_same_photo_options_and_seed_give_identical_frames_and_audio():
    photo = landscape_photo(320, 180, water=True)
    first = generate_clip(photo, GenerationOptions(**TINY, seed=3))
    second = generate_clip(photo, GenerationOptions(**TINY, seed=3))
    other = generate_clip(photo, GenerationOptions(**TINY, seed=4))
    assert np.array_equal(first.frames, second.frames)
    assert np.array_equal(first.audio, second.audio)
    assert first.scene == second.scene
    assert not np.array_equal(first.frames, other.frames)


def test_no_audio_when_audio_is_off():
    clip = generate_clip(landscape_photo(320, 180), GenerationOptions(**TINY, audio=False))
    assert clip.audio is None


def test_audio_is_normalised_without_clipping():
    clip = generate_clip(
        landscape_photo(320, 180, water=True), GenerationOptions(**{**TINY, "duration_s": 3.0})
    )
    assert np.abs(clip.audio).max() <= 10 ** (-1 / 20) + 1e-6
    assert integrated_loudness(clip.audio) == pytest.approx(-20.0, abs=1.0)
    assert clip.audio.std(axis=1).min() > 0.01


@pytest.mark.parametrize(
    "photo",
    [
        flat_photo(32, 32, (90, 140, 220)),
        flat_photo(2000, 40, (30, 60, 120)),
        flat_photo(40, 2000, (200, 180, 160)),
        flat_photo(640, 360, 0),
        flat_photo(640, 360, 255),
        landscape_photo(48, 30),
    ],
    ids=["tiny", "very-wide", "very-tall", "all-black", "all-white", "tiny-landscape"],
)
def test_awkward_photos_still_give_a_clip(photo):
    clip = generate_clip(photo, GenerationOptions(**TINY))
    assert clip.frames.shape == (8, 90, 160, 3)
    assert np.isfinite(clip.audio).all()


def test_huge_photos_are_downscaled_first():
    from PIL import Image

    photo = Image.new("RGB", (6000, 4000), (80, 120, 200))
    clip = generate_clip(photo, GenerationOptions(**TINY, audio=False))
    assert clip.frames.shape == (8, 90, 160, 3)


def test_all_black_photo_stays_black_enough():
    clip = generate_clip(flat_photo(320, 180, 0), GenerationOptions(**TINY))
    assert clip.frames.max() < 40


def test_structures_in_front_of_the_sky_stay_put_while_it_drifts():
    """On the sample launch photo the sky drifts behind lattice towers: no piece of a tower may
    travel with it (warm lattice colour appearing in open sky next to a tower)."""
    from pathlib import Path

    from PIL import Image

    sample = Path(__file__).resolve().parents[1] / "samples" / "falcon9-dscovr-launch.jpg"
    photo = Image.open(sample).convert("RGB")
    clip = generate_clip(photo, GenerationOptions(duration_s=3.0, fps=8, audio=False))
    window = (slice(380, 600), slice(700, 850))  # open sky left of the right-hand tower

    def warm(frame: np.ndarray) -> int:
        rgb = frame[window].astype(np.int16)
        return int(((rgb[..., 0] - rgb[..., 2]) > 10).sum())

    assert warm(clip.frames[0]) < 20
    assert warm(clip.frames[-1]) < 20


def test_push_and_breathing_are_halved_over_a_foreground_of_parallel_lines():
    """Parallel lines (a road's markings, a guard rail) crawl under the push and the exposure
    breathing where texture running every way hides them: over such a foreground both are calmed."""
    rng = np.random.default_rng(0)
    ground = rng.integers(60, 160, (90, 320)).astype(np.uint8)
    road = np.repeat(np.where(np.arange(90) % 12 < 3, 220, 70), 320).reshape(90, 320)
    photos = {}
    for name, lower in (("speckled", ground), ("striped", road.astype(np.uint8))):
        pixels = np.empty((180, 320, 3), np.uint8)
        pixels[:90] = (110, 160, 230)
        pixels[90:] = cv2.resize(lower, (320, 90), interpolation=cv2.INTER_NEAREST)[..., None]
        photos[name] = pixels
    scenes = {name: analyze_scene(pixels, find_faces=False) for name, pixels in photos.items()}
    assert scenes["striped"].still_stripes > 0.95
    assert scenes["speckled"].still_stripes < 0.5

    def camera_and_light(name: str) -> tuple[float, float]:
        from PIL import Image

        clip = generate_clip(Image.fromarray(photos[name]), GenerationOptions(**TINY, audio=False))
        kinds = {m["kind"]: m for m in clip.scene["motions"]}
        return kinds["camera push with depth parallax"]["zoom"], kinds["light shift"]["exposure"]

    (zoom, exposure), (calm_zoom, calm_exposure) = map(camera_and_light, ("speckled", "striped"))
    assert calm_zoom == pytest.approx(zoom / 2, abs=1e-4)
    assert calm_exposure == pytest.approx(exposure / 2, abs=1e-3)
