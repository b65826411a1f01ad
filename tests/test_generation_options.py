"""Generation options: defaults, parsing and errors that name the option and its range."""

import pytest

from generation import GenerationOptionError, GenerationOptions


def test_defaults_are_a_5_second_720p_clip_at_24_fps_with_sound():
    options = GenerationOptions()
    options.validate()
    assert (options.duration_s, options.fps, options.width, options.height) == (5.0, 24, 1280, 720)
    assert options.audio and options.motion == "medium" and options.style == "calm"
    assert options.frame_count == 120


@pytest.mark.parametrize(
    ("changes", "option", "fragment"),
    [
        ({"duration_s": 0.5}, "duration_s", "between 1 and 21"),
        ({"duration_s": 22}, "duration_s", "between 1 and 21"),
        ({"fps": 7}, "fps", "8 to 60"),
        ({"fps": 61}, "fps", "8 to 60"),
        ({"width": 63}, "width", "64 to 3840"),
        ({"width": 4000}, "width", "64 to 3840"),
        ({"height": 721}, "height", "even"),
        ({"motion": "wild"}, "motion", "low, medium, high"),
        ({"style": "noir"}, "style", "calm, dramatic, dreamy"),
        ({"seed": -1}, "seed", "0 to"),
        ({"audio": "maybe"}, "audio", "true or false"),
    ],
)
def test_invalid_options_raise_an_error_naming_the_option_and_its_range(changes, option, fragment):
    with pytest.raises(GenerationOptionError) as caught:
        GenerationOptions.from_dict(changes)
    assert caught.value.option == option
    assert str(caught.value).startswith(f"{option}:")
    assert fragment in str(caught.value)


def test_validate_catches_values_set_directly():
    with pytest.raises(GenerationOptionError, match="^fps:"):
        GenerationOptions(fps=100).validate()


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(GenerationOptionError, match="^colour: unknown option"):
        GenerationOptions.from_dict({"colour": "red"})


def test_size_is_accepted_as_width_x_height():
    options = GenerationOptions.from_dict({"size": "1080x1920", "duration_s": "3", "fps": 30})
    assert (options.width, options.height, options.duration_s, options.fps) == (1080, 1920, 3.0, 30)
    with pytest.raises(GenerationOptionError, match="^size:"):
        GenerationOptions.from_dict({"size": "big"})
    with pytest.raises(GenerationOptionError, match="^size:"):
        GenerationOptions.from_dict({"size": "640x360", "width": 640})


def test_to_dict_round_trips():
    options = GenerationOptions(
        duration_s=2.5,
        fps=12,
        width=320,
        height=180,
        motion="high",
        style="dreamy",
        audio=False,
        seed=7,
        loop=True,
        motion_prompt="clouds drifting left",
    )
    assert GenerationOptions.from_dict(options.to_dict()) == options


def test_clips_too_large_to_hold_in_memory_are_refused():
    with pytest.raises(GenerationOptionError, match="^duration_s: .* GiB"):
        GenerationOptions(duration_s=21, fps=60, width=3840, height=2160).validate()
