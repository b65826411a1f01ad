"""The soundtrack's loudness: integrated loudness (ITU-R BS.1770-4 / EBU R128, LUFS, measured by
pyloudnorm), normalising to a target and a gentle peak limiter."""

from __future__ import annotations

import numpy as np


def integrated_loudness(audio: np.ndarray, sample_rate: int = 48000) -> float:
    """Gated integrated loudness in LUFS of (channels, samples) audio of at least 0.4 s; -inf for
    silence. pyloudnorm measures it, as the safety audio checks do, so both read one number."""
    import pyloudnorm  # late: it pulls in scipy.signal (~1 s), which only a soundtrack needs

    samples_by_channel = np.asarray(audio, dtype=np.float64).T
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(samples_by_channel))


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
