"""Motion goes where it belongs on real photos: the sky drifts, what nothing animates stays nearly
still (the full report over the whole set is bench/generation_eval.py)."""

from pathlib import Path

import pytest
from PIL import Image

from generation import GenerationOptions, generate_clip
from generation.procedural import analyze_photo
from generation.quality import mean_flow, region_masks

EVAL = Path(__file__).resolve().parents[1] / "samples" / "eval"
SMALL = GenerationOptions(width=320, height=180, duration_s=2.0, fps=12, audio=False)


@pytest.mark.parametrize(
    "photo_name",
    [
        "picos-de-europa.jpg",  # mountains under a cloudy sky
        "boats-evening-glow.jpg",  # sunset clouds over a lake
        "cameraman.jpg",  # a person in front of a pale sky (greyscale)
    ],
)
def test_sky_of_a_real_photo_moves_at_least_three_times_more_than_its_still_regions(photo_name):
    photo = Image.open(EVAL / photo_name).convert("RGB")
    clip = generate_clip(photo, SMALL)
    _image, scene = analyze_photo(photo, SMALL.width, SMALL.height)
    masks = region_masks(scene, SMALL.width, SMALL.height)
    assert masks.measurable("sky") and masks.measurable("still")
    flow = mean_flow(clip.frames, {"sky": masks.sky, "still": masks.still})
    assert flow["sky"] >= 3.0 * flow["still"], flow
    assert flow["sky"] > 0.1, flow  # pixels per frame at 320x180: visible
