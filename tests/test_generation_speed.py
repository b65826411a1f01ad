"""The fast paths: frames handed on in order while rendering, generate-and-encode in one pass, and
the 8-bit frame composition (which must stay within a grey level of the float composition)."""

import time

import cv2
import numpy as np
import pytest

from generation import GenerationOptions, encode_mp4, generate_clip, generate_mp4, parallel
from generation.motion_prompt import plan_motion
from generation.procedural import Renderer, analyze_photo
from generation.procedural.flow import LocalFlow
from generation.procedural.twinkle import Twinkle
from tests.support.synthetic_photos import landscape_photo

SMALL = {"width": 192, "height": 108, "duration_s": 1.0, "fps": 12}


@pytest.fixture
def several_threads(monkeypatch):
    """Renders in three threads even on a one-core runner, so the hand-off is exercised."""
    monkeypatch.setattr(parallel, "usable_cores", lambda: 3)


@pytest.fixture(scope="module")
def photo():
    return landscape_photo(384, 216, water=True, foliage=True)


def test_streamed_mp4_has_the_bytes_of_generate_then_encode(photo, tmp_path, several_threads):
    options = GenerationOptions(**SMALL, seed=5)
    streamed = generate_mp4(
        photo, options, tmp_path / "streamed.mp4", preset="ultrafast", threads=1
    )
    encode_mp4(generate_clip(photo, options), tmp_path / "after.mp4", preset="ultrafast", threads=1)
    assert (tmp_path / "streamed.mp4").read_bytes() == (tmp_path / "after.mp4").read_bytes()
    assert streamed.frames.shape == (12, 108, 192, 3)


def test_each_frame_reaches_on_frame_once_in_order_and_finished(photo, several_threads):
    seen: list[tuple[int, np.ndarray]] = []
    clip = generate_clip(
        photo, GenerationOptions(**SMALL), on_frame=lambda i, frame: seen.append((i, frame.copy()))
    )
    assert [i for i, _ in seen] == list(range(12))
    for i, frame in seen:
        np.testing.assert_array_equal(frame, clip.frames[i])


def test_an_error_in_on_frame_stops_the_rendering_and_is_raised(photo, several_threads):
    rendered: list[int] = []

    def renderer():
        def render(index):
            time.sleep(0.02)  # slow frames: the refusal comes while most are still to render
            rendered.append(index)

        return render

    def refuse(index):
        if index == 2:
            raise RuntimeError("encoder gave up")

    with pytest.raises(RuntimeError, match="encoder gave up"):
        parallel.render_in_threads(600, renderer, on_frame=refuse)
    assert len(rendered) < 600


def test_an_error_in_a_frame_is_raised_without_waiting_forever(several_threads):
    def renderer():
        def render(index):
            if index == 4:
                raise ValueError("frame 4 broke")

        return render

    handed: list[int] = []
    with pytest.raises(ValueError, match="frame 4 broke"):
        parallel.render_in_threads(12, renderer, on_frame=handed.append)
    assert handed == list(range(len(handed))) and len(handed) <= 4  # none after the broken one


def test_generate_mp4_leaves_no_file_when_encoding_fails(photo, tmp_path, monkeypatch):
    from generation.encode import Mp4Writer

    def broken(self, frame):
        raise OSError("disk full")

    monkeypatch.setattr(Mp4Writer, "write", broken)
    target = tmp_path / "clip.mp4"
    with pytest.raises(OSError, match="disk full"):
        generate_mp4(photo, GenerationOptions(**SMALL), target)
    assert not target.exists()


@pytest.mark.parametrize("loop", [False, True])
def test_8_bit_composition_stays_within_a_grey_level_or_two_of_the_float_one(photo, loop):
    """render() blends the sky in 8 bits and lights frames by lookup table; the float blend and
    colour matrix it replaced are the reference."""
    options = GenerationOptions(**SMALL, loop=loop)
    image, scene = analyze_photo(photo, options.width, options.height)
    renderer = Renderer(image, scene, options, plan_motion(scene, options))
    sky, camera = renderer.sky, renderer.camera
    assert sky is not None
    flows = [layer for layer in renderer.layers if isinstance(layer, LocalFlow)]
    frames = renderer.render_all()
    for index in (0, 6, 11):
        t = index / options.fps
        composite = renderer.photo.copy()
        sb = sky.canvas.rows
        alpha = sky.canvas.alpha
        view = sky.view(t)
        cv2.blendLinear(renderer.photo[:sb], view, 1.0 - alpha, alpha, dst=composite[:sb])
        zoom = camera.reach * renderer.timeline.ease(t)
        map_x = camera.grid_x + zoom * camera.flow_x
        map_y = camera.grid_y + zoom * camera.flow_y
        for flow in flows:
            map_x[flow.x.box] += flow.x.at(t)
            map_y[flow.y.box] += flow.y.at(t)
        warped = cv2.remap(
            composite, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
        )
        colour = np.diag(renderer.light.gains[index])
        reference = cv2.transform(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), colour)
        for twinkle in (layer for layer in renderer.layers if isinstance(layer, Twinkle)):
            for sparkle in twinkle.sparkles:
                sparkle.draw(reference, t, camera.moved(sparkle.x, sparkle.y, zoom))
        difference = np.abs(frames[index].astype(np.int16) - reference.astype(np.int16))
        assert difference.max() <= 2
        assert difference.mean() < 0.1
