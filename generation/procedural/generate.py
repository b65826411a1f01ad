"""The procedural backend's entry point: a photo and options in, a clip with sound out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from ..audio import synthesize_ambient
from ..clip import SAMPLE_RATE, Clip
from ..motion_prompt import plan_motion
from ..options import GenerationOptions
from ..scene import analyze_scene
from ..timing import Stopwatch, timed
from .photo import faces_in_frame, fit_photo
from .renderer import Renderer

BACKEND = "procedural"
BACKEND_VERSION = "1.0.0"


def generate_clip(
    photo: Image.Image,
    options: GenerationOptions,
    *,
    timings: dict[str, float] | None = None,
    faces: list[tuple[int, int, int, int]] | None = None,
    photo_faces: Sequence[Sequence[float]] | None = None,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
) -> Clip:
    """Turns an RGB photo into a living clip. Same photo, options and seed give identical output.

    `timings`, when given, receives seconds per stage (fit, analysis, motion, synthesis, audio;
    audio runs beside motion and synthesis, and audio_wait is what was left to wait for it);
    `faces` are face boxes in the fitted frame's pixels if the caller already knows them, or
    `photo_faces` boxes as fractions of the photo (the input gate's, so faces are detected once);
    with neither, the photo is searched for faces here;
    `on_frame(i, frame)`, when given, is called from the calling thread with each frame in order
    as soon as it and all before it are rendered, while later ones still are (an encoder's
    `write`): its time counts in synthesis.
    """
    options.validate()
    stage = Stopwatch(timings)
    image = fit_photo(photo, options.width, options.height)
    stage("fit")
    if faces is None:
        faces = faces_in_frame(photo, options.width, options.height, photo_faces)
    scene = analyze_scene(image, faces=faces)
    stage("analysis")
    plan = plan_motion(scene, options)
    samples = round(options.frame_count * SAMPLE_RATE / options.fps)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stillguard-audio") as audio_pool:
        # the sound is made beside the frames (numpy releases the GIL): it fills the single-
        # threaded moments of the frame work instead of waiting for it
        sound_job = (
            audio_pool.submit(timed, synthesize_ambient, scene, options, plan, samples=samples)
            if options.audio
            else None
        )
        renderer = Renderer(image, scene, options, plan)
        stage("motion")
        frames = renderer.render_all(on_frame=on_frame)
        stage("synthesis")
        audio = None
        sound: dict[str, Any] = {"layers": []}
        if sound_job is not None:
            (audio, sound), audio_seconds = sound_job.result()
            stage("audio_wait")
            if timings is not None:
                timings["audio"] = audio_seconds
    description = {
        **scene.to_dict(),
        "motions": renderer.motions,
        "audio_layers": [layer["layer"] for layer in sound["layers"]],
        "audio": sound,
        "style": options.style,
        "motion": options.motion,
        "loop": options.loop,
        "motion_prompt": plan.to_dict(),
    }
    return Clip(
        frames=frames,
        fps=options.fps,
        audio=audio,
        sample_rate=SAMPLE_RATE,
        backend=BACKEND,
        backend_version=BACKEND_VERSION,
        scene=description,
    )
