"""White water runs downstream (issue 16): a stream's foam gets streaks that slide down the frame,
over the foam alone (dark rock inside it stays as it was), where lakes and the sea only ripple."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from generation import GenerationOptions, generate_clip
from generation.procedural import foam
from tests.support.samples import SAMPLES

STREAM = SAMPLES / "eval" / "forest-stream.jpg"
STILL_WATER = ["jetty-grey-mist.jpg", "surfer-wave.jpg", "lake-summer-1am.jpg"]
SMALL = {"width": 320, "height": 180, "duration_s": 1.0, "fps": 12, "audio": False}
STILL_CAMERA = "no zoom"  # so that only the layers move


def _photo(path) -> Image.Image:  # type: ignore[no-untyped-def]
    return Image.open(path).convert("RGB")


def _foam_motions(clip) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in clip.scene["motions"] if m["region"] == "foam"]


def test_a_stream_runs_downstream_and_still_water_does_not() -> None:
    clip = generate_clip(_photo(STREAM), GenerationOptions(**SMALL))
    (motion,) = _foam_motions(clip)
    assert motion["kind"] == "downstream streaks" and motion["speed_px_s"] > 0
    assert clip.scene["regions"]["foam"] > 0.01
    for name in STILL_WATER:
        clip = generate_clip(_photo(SAMPLES / "eval" / name), GenerationOptions(**SMALL))
        assert not _foam_motions(clip), name


@pytest.fixture(scope="module")
def streaks() -> tuple[np.ndarray, np.ndarray, foam.FoamFlow]:
    """The stream's frames with and without the foam layer, camera still, and the layer."""
    options = GenerationOptions(**{**SMALL, "fps": 24}, motion_prompt=STILL_CAMERA)
    layers = []
    prepare = foam.prepare

    def spied(ctx):  # type: ignore[no-untyped-def]
        layers.append(prepare(ctx))
        return layers[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(foam, "prepare", spied)
        running = generate_clip(_photo(STREAM), options).frames.astype(np.float32)
        patch.setattr(foam, "prepare", lambda ctx: None)
        still = generate_clip(_photo(STREAM), options).frames.astype(np.float32)
    return running, still, layers[0]


def _best_shift(before: np.ndarray, after: np.ndarray, reach: int = 5) -> tuple[int, int]:
    """The whole-pixel (dx, dy) that best carries `before` onto `after` (content moving down
    has dy > 0), by correlation."""
    inner = (slice(reach, -reach), slice(reach, -reach))
    scores = {
        (dx, dy): float(np.sum(np.roll(before, (dy, dx), axis=(0, 1))[inner] * after[inner]))
        for dx in range(-reach, reach + 1)
        for dy in range(-reach, reach + 1)
    }
    return max(scores, key=scores.__getitem__)


def test_the_streaks_slide_down_the_frame(streaks) -> None:
    running, still, layer = streaks
    # 60 px/s at 720p is 15 px/s at 320x180: 2.5 px in a sixth of a second
    shifts = [_best_shift(layer.streaks_at(t), layer.streaks_at(t + 1 / 6)) for t in (0, 0.3, 0.7)]
    assert all(dx == 0 and dy in (2, 3) for dx, dy in shifts), shifts
    # and each frame shows the streaks of its own time, on the foam
    added = (running - still).mean(axis=3)[(slice(None), *layer.box)]
    assert np.abs(added).mean() > 1.0
    weight = layer.weight
    for index in (0, 6, 12, 18):
        match = [
            np.corrcoef((layer.streaks_at(t) * weight).ravel(), added[index].ravel())[0, 1]
            for t in np.arange(24) / 24
        ]
        assert abs(int(np.argmax(match)) - index) <= 1 and max(match) > 0.8, (index, max(match))


def test_dark_rock_inside_the_foam_stays_as_it_was(streaks) -> None:
    running, still, layer = streaks
    box = layer.box
    grey = still[0].mean(axis=2)
    dark = np.zeros(grey.shape, np.uint8)
    dark[box] = grey[box] < foam.WHITE_FROM - 10
    # the ripple's warp reads each pixel from a few pixels away: judge rock clear of its edge
    dark = cv2.erode(dark, np.ones((7, 7), np.uint8)).astype(bool)
    white = np.zeros(grey.shape, bool)
    white[box] = grey[box] > foam.WHITE_FULL
    changed = np.abs(running - still).mean(axis=3)
    assert dark.sum() > 200 and changed[:, dark].max() <= 1.0
    assert changed[:, white].mean() > 4.0


def test_a_longer_stream_clip_continues_a_shorter_one_frame_for_frame() -> None:
    photo = _photo(STREAM)
    short = generate_clip(photo, GenerationOptions(**SMALL, seed=4))
    longer = generate_clip(photo, GenerationOptions(**{**SMALL, "duration_s": 2.0}, seed=4))
    assert np.array_equal(longer.frames[: short.frames.shape[0]], short.frames)


def test_a_looping_stream_meets_its_start() -> None:
    photo = _photo(STREAM)
    clip = generate_clip(photo, GenerationOptions(**{**SMALL, "duration_s": 2.5}, loop=True))
    frames = clip.frames.astype(np.float32)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    seam = np.abs(frames[0] - frames[-1]).mean()
    assert seam <= 1.5 * np.median(steps), (seam, np.median(steps))
