"""Generate and encode at once: each frame goes to the encoder as soon as it is rendered.

Generate-then-encode waits for the synthesis and then for the encoder; here only the last
frames' encoding and the sound are left after the synthesis. Measured on 2 cores (interleaved
runs, bench/generation.py): a 5 s 720p clip 1.21 s against 1.32 s; at 1080x1920, where both
cores are busy throughout either way, no gain. The bytes are those of
`encode_mp4(generate_clip(...))`: the same frames reach the same writer in the same order.

The service pipeline (stillguard.stages) cannot use it as it stands: it burns the label and the
watermark into the frames between generation and encoding. It could, with those marks applied
per frame inside `on_frame` (the clip id allocated before generation) and the fingerprint taken
from the finished clip afterwards.
"""

from __future__ import annotations

import pathlib

from PIL import Image

from .clip import SAMPLE_RATE, Clip, VideoFormat
from .encode import Mp4Writer
from .options import GenerationOptions
from .procedural import generate_clip
from .timing import Stopwatch


def generate_mp4(
    photo: Image.Image,
    options: GenerationOptions,
    path: pathlib.Path,
    *,
    preset: str = "veryfast",
    crf: int = 20,
    threads: int = 0,
    timings: dict[str, float] | None = None,
    faces: list[tuple[int, int, int, int]] | None = None,
) -> Clip:
    """Generates the clip and encodes it to `path` (H.264 + AAC MP4) while it is being made.

    Returns the clip as encoded. `timings` gets generate_clip's stages (synthesis includes the
    encoding done meanwhile) and `encode`: what was left to encode after the last frame. On an
    error no file is left at `path`."""
    options.validate()
    path = pathlib.Path(path)
    try:
        video = VideoFormat(
            options.width, options.height, options.fps, SAMPLE_RATE if options.audio else None
        )
        with Mp4Writer(
            path,
            video,
            preset=preset,
            crf=crf,
            threads=threads,  # 1: the same bytes every run (see Mp4Writer)
        ) as writer:
            clip = generate_clip(
                photo,
                options,
                timings=timings,
                faces=faces,
                on_frame=lambda _index, frame: writer.write(frame),
            )
            stage = Stopwatch(timings)
            writer.finish(clip.audio)
            stage("encode")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return clip
