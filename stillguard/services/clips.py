"""Reading a clip for the checks: one streaming decode into a SampledClip, never every frame held."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from generation import read_mp4
from safety.clip_sampling import ClipSampler, SampledClip


def sampled_mp4(
    path: Path,
    *,
    on_frame: Callable[[int, int, float], None] | None = None,
    on_audio: Callable[[int, float], None] | None = None,
) -> SampledClip:
    """Decode the MP4 at `path` once, keeping only what the clip checks read (MediaError if it
    cannot be read; `on_frame` and `on_audio` may stop it, as in `read_mp4`)."""
    sampler: ClipSampler | None = None

    def open_sink(fps: float, _frames_declared: int) -> Callable[[np.ndarray], None]:
        nonlocal sampler
        sampler = ClipSampler(fps)  # ValueError (a corrupt clip) without a frame rate
        return sampler.add

    read = read_mp4(path, open_sink, on_frame=on_frame, on_audio=on_audio)
    assert sampler is not None  # read_mp4 opens the sink before its first frame
    return sampler.finish(read.audio, read.sample_rate)
