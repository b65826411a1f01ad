"""The soundtrack's loudness: integrated loudness (ITU-R BS.1770-4 / EBU R128, LUFS, measured by
libebur128 through pyebur128), normalising to a target and a gentle peak limiter."""

from __future__ import annotations

import numpy as np
import pyebur128  # type: ignore[import-untyped]


def integrated_loudness(audio: np.ndarray, sample_rate: int = 48000) -> float:
    """Gated integrated loudness in LUFS of (channels, samples) audio; -inf for silence or audio
    shorter than one 400 ms block. libebur128 measures it, as the safety audio checks do, so
    both read one number."""
    channels, samples = audio.shape
    state = pyebur128.R128State(channels, sample_rate, pyebur128.MeasurementMode.MODE_I)
    state.add_frames(np.ascontiguousarray(audio.T, dtype=np.float64).ravel(), samples)
    return float(pyebur128.get_loudness_global(state))


def soft_limit(audio: np.ndarray, ceiling: float) -> np.ndarray:
    """Leaves samples below 70% of the ceiling untouched and bends the rest smoothly under it."""
    knee = 0.7 * ceiling
    magnitude = np.abs(audio)
    over = magnitude > knee
    if not over.any():
        return audio
    out = audio.copy()
    room = ceiling - knee
    out[over] = np.sign(audio[over]) * (knee + room * np.tanh((magnitude[over] - knee) / room))
    return out


def normalize_loudness(audio: np.ndarray, target_lufs: float, ceiling: float) -> np.ndarray:
    """Scales to the target loudness, limiting peaks under the ceiling (a few passes converge)."""
    out = audio
    for _ in range(4):
        loudness = integrated_loudness(out)
        if not np.isfinite(loudness):
            return out
        if abs(loudness - target_lufs) < 0.1 and np.abs(out).max() <= ceiling:
            break
        out = soft_limit(out * 10.0 ** ((target_lufs - loudness) / 20.0), ceiling)
    return np.clip(out, -ceiling, ceiling)
