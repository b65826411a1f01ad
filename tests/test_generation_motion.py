"""Motion options: loops without a seam, longer clips continue shorter ones, prompts and styles."""

import numpy as np
import pytest

from generation import GenerationOptions, generate_clip
from generation.motion_prompt import parse_motion_prompt
from tests.support.synthetic_photos import landscape_photo

SMALL = {"width": 160, "height": 90, "fps": 8}


def _steps(frames: np.ndarray) -> np.ndarray:
    f = frames.astype(np.float32)
    return np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))


def test_loop_seam_is_no_larger_than_an_ordinary_frame_step():
    photo = landscape_photo(320, 180, water=True, foliage=True)
    clip = generate_clip(photo, GenerationOptions(**SMALL, duration_s=3.0, loop=True, audio=False))
    steps = _steps(clip.frames)
    seam = np.abs(clip.frames[0].astype(np.float32) - clip.frames[-1].astype(np.float32)).mean()
    assert seam <= 1.5 * np.median(steps), (seam, np.median(steps))


def test_loop_audio_meets_its_start_without_a_click():
    photo = landscape_photo(320, 180, water=True)
    clip = generate_clip(photo, GenerationOptions(**SMALL, duration_s=2.0, loop=True))
    audio = clip.audio
    jump = np.abs(audio[:, 0] - audio[:, -1]).max()
    typical = np.abs(np.diff(audio, axis=1)).max()
    assert jump <= typical


def test_a_longer_clip_continues_a_shorter_one_frame_for_frame():
    photo = landscape_photo(320, 180, water=True, foliage=True)
    short = generate_clip(photo, GenerationOptions(**SMALL, duration_s=1.0, seed=5, audio=False))
    longer = generate_clip(photo, GenerationOptions(**SMALL, duration_s=2.0, seed=5, audio=False))
    assert np.array_equal(longer.frames[: short.frames.shape[0]], short.frames)


def test_motion_prompt_maps_words_to_motion():
    plan = parse_motion_prompt("clouds drifting left, gentle waves, no zoom, birds singing")
    assert plan.sky_direction == -1
    assert plan.water < 1.0
    assert plan.camera == 0.0
    assert "birdsong" in plan.sounds
    assert len(plan.understood) == 3
    stormy = parse_motion_prompt("fast stormy clouds, still water")
    assert stormy.sky_speed > 1.0 and stormy.water == 0.0


def test_motion_prompt_steers_the_generated_clip():
    photo = landscape_photo(320, 180)
    clip = generate_clip(
        photo, GenerationOptions(**SMALL, motion_prompt="clouds drifting right, no zoom, rain")
    )
    sky = next(m for m in clip.scene["motions"] if m["region"] == "sky")
    camera = next(m for m in clip.scene["motions"] if m["kind"].startswith("camera"))
    assert sky["speed_px_s"] > 0 and camera["zoom"] == 0.0
    assert "rain" in clip.scene["audio_layers"]


@pytest.mark.parametrize("style", ["calm", "dramatic", "dreamy"])
def test_each_style_gives_a_different_clip(style):
    photo = landscape_photo(320, 180)
    base = generate_clip(photo, GenerationOptions(**SMALL, duration_s=1.0, audio=False))
    styled = generate_clip(
        photo, GenerationOptions(**SMALL, duration_s=1.0, style=style, audio=False)
    )
    assert styled.scene["style"] == style
    assert (style == "calm") == np.array_equal(base.frames, styled.frames)


def test_more_motion_moves_more():
    photo = landscape_photo(320, 180, water=True)
    low = generate_clip(
        photo, GenerationOptions(**SMALL, duration_s=1.0, motion="low", audio=False)
    )
    high = generate_clip(
        photo, GenerationOptions(**SMALL, duration_s=1.0, motion="high", audio=False)
    )
    assert _steps(high.frames).mean() > 1.3 * _steps(low.frames).mean()


def test_faces_are_held_still_when_face_motion_is_off():
    photo = landscape_photo(320, 180, water=True)
    face = (60, 110, 40, 40)  # a box inside the water, in fitted-frame pixels (320x180)
    common = {
        "width": 320,
        "height": 180,
        "fps": 8,
        "duration_s": 1.0,
        "audio": False,
        "motion_prompt": "still light",
    }
    held = generate_clip(photo, GenerationOptions(**common, face_motion=False), faces=[face])
    free = generate_clip(photo, GenerationOptions(**common, face_motion=True), faces=[face])
    assert any(m["region"] == "faces" for m in held.scene["motions"])
    x, y, w, h = face
    box = (slice(None), slice(y, y + h), slice(x, x + w))
    assert np.array_equal(
        held.frames[box], np.broadcast_to(held.frames[0][box[1:]], held.frames[box].shape)
    )
    assert not np.array_equal(free.frames[box][0], free.frames[box][-1])


def test_variations_differ_and_each_is_reproducible():
    from generation.backends import variation_options

    photo = landscape_photo(320, 180)
    options = GenerationOptions(**SMALL, duration_s=1.0, audio=False, seed=11)
    clips = [generate_clip(photo, each) for each in variation_options(options, 3)]
    assert len(clips) == 3
    assert not np.array_equal(clips[0].frames, clips[1].frames)
    again = generate_clip(photo, GenerationOptions(**SMALL, duration_s=1.0, audio=False, seed=12))
    assert np.array_equal(clips[1].frames, again.frames)


def test_too_many_variations_are_refused_by_name():
    from generation import GenerationOptionError
    from generation.backends import variation_options

    with pytest.raises(GenerationOptionError, match="^variations:"):
        variation_options(GenerationOptions(), 9)


def test_no_flicker_in_regions_that_are_not_animated():
    """Mean brightness of the ground changes by less than a grey level from frame to frame."""
    photo = landscape_photo(320, 180)
    clip = generate_clip(
        photo, GenerationOptions(width=320, height=180, fps=24, duration_s=2.0, audio=False)
    )
    ground = clip.frames[:, 120:, :, :].astype(np.float32).mean(axis=(1, 2, 3))
    assert np.abs(np.diff(ground)).max() < 1.0


@pytest.mark.parametrize("kind", ["rain", "snow", "dust"])
def test_particles_asked_for_in_the_prompt_fall_across_the_frame(kind):
    photo = landscape_photo(320, 180)
    plain = generate_clip(photo, GenerationOptions(**SMALL, duration_s=1.0, audio=False))
    clip = generate_clip(
        photo,
        GenerationOptions(**SMALL, duration_s=1.0, audio=False, motion_prompt=f"gentle {kind}"),
    )
    assert any(m["kind"] == f"particles: {kind}" for m in clip.scene["motions"])
    assert clip.frames.astype(np.int16).sum() > plain.frames.astype(np.int16).sum()
    assert not np.array_equal(clip.frames[0] - plain.frames[0], clip.frames[-1] - plain.frames[-1])
