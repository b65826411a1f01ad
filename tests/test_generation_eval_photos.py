"""Motion goes where it belongs on real photos: the sky drifts, water rolls, what nothing animates
stays nearly still (the full report over the whole set is bench/generation_eval.py)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from generation import GenerationOptions, generate_clip
from generation.motion_prompt import plan_motion
from generation.procedural import analyze_photo, fit_photo, sky
from generation.procedural.context import LayerContext
from tests.support.clip_quality import mean_flow, region_masks

EVAL = Path(__file__).resolve().parents[1] / "samples" / "eval"
SMALL = GenerationOptions(width=320, height=180, duration_s=2.0, fps=12, audio=False)


@pytest.mark.parametrize(
    ("photo_name", "region"),
    [
        ("picos-de-europa.jpg", "sky"),  # mountains under a cloudy sky
        ("boats-evening-glow.jpg", "sky"),  # sunset clouds over a lake
        ("lake-summer-1am.jpg", "sky"),  # a clear, smooth dusk sky: added clouds show the drift
        ("mountain-sunset.jpg", "sky"),  # a sun low in a hazy sky, meadow close to the camera
        ("lake-summer-1am.jpg", "water"),  # a mirror-smooth lake: crests and troughs roll over it
        ("forest-stream.jpg", "water"),  # white water over rocks in a wood, no sky
    ],
)
def test_animated_region_of_a_real_photo_moves_at_least_three_times_more_than_its_still_regions(
    photo_name, region
):
    photo = Image.open(EVAL / photo_name).convert("RGB")
    clip = generate_clip(photo, SMALL)
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    masks = region_masks(scene, SMALL.width, SMALL.height)
    assert masks.measurable(region) and masks.measurable("still")
    flow = mean_flow(clip.frames, {region: getattr(masks, region), "still": masks.still})
    assert flow[region] >= 3.0 * flow["still"], flow
    assert flow[region] > 0.1, flow  # pixels per frame at 320x180: visible


def test_a_breaking_waves_teal_face_is_water_not_sky_or_foliage():
    # its bright, saturated teal passed the sky's blue test (grey cloud patches drifted over the
    # wave) and the foliage's green hue (the whitewater swayed like leaves)
    _image, scene = analyze_photo(
        Image.open(EVAL / "surfer-wave.jpg").convert("RGB"), SMALL.width, SMALL.height
    )
    assert scene.fraction("water") > 0.3
    assert scene.fraction("sky") < 0.3
    assert scene.fraction("foliage") < 0.02


def test_the_spray_over_a_breaking_wave_is_not_read_as_cloud():
    # white and textured, the spray along the wave's crest passed the sky's cloud test and
    # drifted sideways like a cloud over the rolling wave; a sky meets water only at a level line
    photo = Image.open(EVAL / "surfer-wave.jpg").convert("RGB")
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    assert scene.fraction("sky") == 0.0
    assert scene.fraction("water") > 0.3
    assert scene.haze < 0.3  # the white spray is not taken for mist either


def test_a_scene_left_without_sky_has_no_horizon_of_its_own():
    # the spray was read as sky before it was dropped; its line must not stay the horizon that
    # the camera's parallax and the mist band follow: the surfer is placed as any skyless photo
    horizons = {
        name: analyze_photo(Image.open(EVAL / name).convert("RGB"), SMALL.width, SMALL.height)[
            1
        ].horizon
        for name in ("surfer-wave.jpg", "forest-stream.jpg")
    }
    assert horizons["surfer-wave.jpg"] == horizons["forest-stream.jpg"], horizons


@pytest.mark.parametrize("photo_name", ["cameraman.jpg", "grace-hopper.jpg"])
def test_sky_behind_a_close_up_person_is_held_still_with_their_face(photo_name):
    # a pale sky behind the cameraman, a studio backdrop behind Grace Hopper: both read as sky
    # without the face, and clouds drifting behind a close-up person look fake
    photo = Image.open(EVAL / photo_name).convert("RGB")
    _image, faceless = analyze_photo(photo, SMALL.width, SMALL.height, faces=[])
    assert faceless.fraction("sky") > 0.2  # the rule below is what holds it still
    clip = generate_clip(photo, SMALL)
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    assert scene.faces and scene.fraction("sky") == 0.0
    backdrop = region_masks(faceless, SMALL.width, SMALL.height).sky
    face = scene.mask("faces", SMALL.width, SMALL.height, feather_px=0.0) > 0.5
    flow = mean_flow(clip.frames, {"backdrop": backdrop, "face": face})
    assert flow["backdrop"] < 0.1 and flow["face"] < 0.1, flow


def test_identical_frames_measure_no_flow_even_with_a_bright_edge_at_the_border():
    # the storm photo has a white road marking at its bottom edge, where OpenCV's Farneback
    # alone reports pixels of flow between identical frames
    frame = fit_photo(Image.open(EVAL / "storm.jpg").convert("RGB"), 640, 360)
    frames = np.stack([frame, frame, frame])
    bottom = np.zeros(frame.shape[:2], bool)
    bottom[300:] = True
    flow = mean_flow(frames, {"bottom": bottom, "all": np.ones_like(bottom)})
    assert flow["bottom"] < 0.01 and flow["all"] < 0.01, flow


def _warm(frame: np.ndarray) -> np.ndarray:
    """Red to yellow pixels: in a blue sky with white clouds, only a kite's panels."""
    rgb = frame.astype(np.int16)
    return (rgb[..., 0] - rgb[..., 2]) > 40


def test_a_kite_in_the_sky_is_held_still_and_never_copied_into_the_drifting_sky():
    # the kite is a small hole in the sky; filled as sky, a second kite drifted off with the clouds
    photo = Image.open(EVAL / "kite-sky.jpg").convert("RGB")
    clip = generate_clip(photo, SMALL)
    kite = _warm(clip.frames[0])
    assert kite.sum() > 20
    near = cv2.dilate(kite.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    strays = [int((_warm(frame) & ~near).sum()) for frame in clip.frames]
    assert max(strays) < 3, strays
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    sky = scene.mask("sky", SMALL.width, SMALL.height, feather_px=0.0)
    assert sky[kite].mean() < 0.5


def test_big_clouds_at_the_frames_edge_drift_with_the_sky_around_them():
    # clouds too textured for the sky's colour test, touching the frame's edge, were never filled
    # as holes in the sky: they stood still while the blue sky drifted past them
    photo = Image.open(EVAL / "kite-sky.jpg").convert("RGB")
    image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    sky_mask = scene.mask("sky", SMALL.width, SMALL.height, feather_px=0.0) > 0.5
    white = image.min(axis=2) > 170  # in this photo, only clouds
    assert sky_mask[white].mean() > 0.9
    clip = generate_clip(photo, SMALL)
    cores = cv2.erode(white.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    blue = cv2.erode((image.min(axis=2) < 120).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    flow = mean_flow(clip.frames, {"clouds": cores, "blue": blue})
    assert flow["clouds"] > 0.5 * flow["blue"], flow


def test_an_underwater_photo_is_not_read_as_sky_and_gets_no_sky_drift():
    # the aquarium's blue water passed the sky's colour test: it drifted sideways like a sky,
    # carrying the pale fish with it and leaving still, darker holes around the others
    photo = Image.open(EVAL / "aquarium-silhouette.jpg").convert("RGB")
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    assert scene.fraction("sky") == 0.0
    clip = generate_clip(photo, SMALL)
    assert not [m for m in clip.scene["motions"] if m["region"] == "sky"], clip.scene["motions"]


def test_an_auroras_green_glow_and_its_reflection_in_a_lake_are_not_foliage():
    # the aurora's glow and its reflection in the lake passed the foliage's green hue: the lake
    # swayed like leaves
    _image, scene = analyze_photo(
        Image.open(EVAL / "aurora-lake-night.jpg").convert("RGB"), SMALL.width, SMALL.height
    )
    foliage = scene.mask("foliage", SMALL.width, SMALL.height, feather_px=0.0) > 0.5
    lake = foliage[int(0.85 * SMALL.height) :]
    assert lake.mean() < 0.01
    assert foliage.mean() < 0.02


@pytest.mark.parametrize("photo_name", ["kite-sky.jpg", "aurora-lake-night.jpg"])
def test_the_open_sky_drifts_whole_without_still_spots_that_read_as_dark_blotches(photo_name):
    # grain of the sky's own colour (a deep blue, cirrus, stars) was taken for cables and cut out
    # of the drift with a wide margin: the still photo showed through in dozens of round spots,
    # darker than the veiled sky drifting around them
    options = GenerationOptions(width=640, height=360, duration_s=2.0, fps=12, audio=False)
    photo = Image.open(EVAL / photo_name).convert("RGB")
    image, scene = analyze_photo(photo, options.width, options.height)
    canvas = sky.prepare(LayerContext.build(image, scene, options, plan_motion(scene, options)))
    assert canvas is not None
    open_sky = scene.mask("sky", options.width, options.height, feather_px=0.0, inset_px=12)
    spots = (canvas.alpha < 0.5) & (open_sky[: canvas.rows] > 0.5)
    count, _labels = cv2.connectedComponents(spots.astype(np.uint8), connectivity=8)
    assert count - 1 <= 6  # the kite, and patches where the sky's edge bends


def test_clouds_added_to_a_clear_sky_never_darken_it():
    # the veil was lighter and darker than the sky in turn: over a clear blue sky its shade drifted
    # as dark patches (16 % of the open sky more than 10 grey levels darker than the photo)
    photo = Image.open(EVAL / "clear-sky-airplane.jpg").convert("RGB")
    clip = generate_clip(photo, SMALL)
    image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    open_sky = scene.mask("sky", SMALL.width, SMALL.height, feather_px=0.0, inset_px=8) > 0.5
    photo_grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.int16)
    darker = [
        float(((photo_grey - cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) > 10) & open_sky).mean())
        / float(open_sky.mean())
        for frame in clip.frames
    ]
    assert max(darker) < 0.03, max(darker)


def test_white_water_of_a_stream_over_rocks_is_read_as_water_and_the_rocks_are_not():
    # with no sky to mirror, the stream was never found and stood still among swaying leaves
    photo = Image.open(EVAL / "forest-stream.jpg").convert("RGB")
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    water = scene.mask("water", SMALL.width, SMALL.height, feather_px=0.0) > 0.5
    falls = [(111, 150), (166, 130)]  # (row, column) in the 320x180 frame
    rocks = [(113, 210), (108, 100), (38, 180)]  # pale limestone beside and above the stream
    assert [bool(water[p]) for p in falls] == [True, True]
    assert [bool(water[p]) for p in rocks] == [False, False, False]


@pytest.mark.parametrize(
    "photo_name",
    [
        "clear-sky-airplane.jpg",  # a white airliner in a blue sky
        "aurora-lake-night.jpg",  # snowy slopes lit blue
        "picos-de-europa.jpg",  # pale limestone peaks
        "bike-riders.jpg",  # a white dress among leaves
        "storm.jpg",  # a road's guard rail, motion-blurred into pale streaks
        "boats-evening-glow.jpg",  # grey-blue gravel on a beach
        "bridge-fog.jpg",  # fog and a white bridge
        "cameraman.jpg",  # a pale sky behind a person
    ],
)
def test_snow_clouds_white_things_and_gravel_are_not_taken_for_white_water(photo_name):
    photo = Image.open(EVAL / photo_name).convert("RGB")
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    assert scene.fraction("water") == 0.0


def test_a_colour_band_in_a_dusk_sky_is_not_read_as_a_waterline():
    # beach-city-dusk: the edge between a mauve cloud band and the pink glow under it crosses 71 %
    # of the width and passed the waterline test, so the sky from a third of the height down to
    # the far shore rolled like water; water mirrors the sky above it and is never much brighter
    photo = Image.open(EVAL / "beach-city-dusk.jpg").convert("RGB")
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    h = scene.analysis_shape[0]
    glow = slice(int(0.36 * h), int(0.56 * h))
    assert scene.water[glow].mean() < 0.01
    assert scene.sky[glow].mean() > 0.6  # the towers take the right third
    assert scene.water[int(0.6 * h) :].mean() > 0.05  # the sea under the far shore stays water


@pytest.mark.parametrize(
    "photo_name",
    ["lake-summer-1am.jpg", "dune-sea.jpg", "jetty-grey-mist.jpg", "lake-mist-blue-hour.jpg"],
)
def test_a_sea_horizon_or_far_shore_inside_the_sky_still_splits_off_the_water(photo_name):
    _image, scene = analyze_photo(
        Image.open(EVAL / photo_name).convert("RGB"), SMALL.width, SMALL.height
    )
    h = scene.analysis_shape[0]
    below = slice(int(scene.horizon * h) + 2, int(scene.horizon * h) + 2 + int(0.05 * h))
    assert scene.water[below].mean() > 0.5
    assert scene.sky[below].mean() < 0.05
