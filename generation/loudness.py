"""Integrated loudness (ITU-R BS.1770-4 / EBU R128, LUFS) and a gentle peak limiter, numpy only."""

from __future__ import annotations

import functools

import numpy as np

# K-weighting at 48 kHz: a high shelf (head effects) then the RLB high-pass (BS.1770-4, table 1/2)
_SHELF = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285),
    (1.0, -1.69065929318241, 0.73248077421585),
)
_HIGHPASS = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))


def _biquad_response(coeffs: tuple[tuple[float, ...], tuple[float, ...]], n: int) -> np.ndarray:
    b, a = coeffs
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(n))
    return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)


@functools.lru_cache(maxsize=8)
def _k_response(padded: int) -> np.ndarray:
    return _biquad_response(_SHELF, padded) * _biquad_response(_HIGHPASS, padded)


def k_weight(audio: np.ndarray) -> np.ndarray:
    """K-weights (channels, samples) audio at 48 kHz (frequency-domain, zero-padded)."""
    n = audio.shape[-1]
    padded = 1 << int(np.ceil(np.log2(n + 8192)))
    response = _k_response(padded)
    return np.fft.irfft(np.fft.rfft(audio, padded, axis=-1) * response, padded, axis=-1)[..., :n]


def integrated_loudness(audio: np.ndarray, sample_rate: int = 48000) -> float:
    """Gated integrated loudness in LUFS of (channels, samples) audio; -inf for silence."""
    if sample_rate != 48000:
        raise ValueError("integrated_loudness expects 48 kHz audio")
    weighted = k_weight(np.asarray(audio, dtype=np.float32)).astype(np.float64)
    block, hop = int(0.4 * sample_rate), int(0.1 * sample_rate)
    n = weighted.shape[-1]
    if n < block:
        block = hop = n
    squares = np.concatenate(
        [np.zeros((weighted.shape[0], 1)), np.cumsum(weighted**2, axis=-1)], axis=-1
    )
    starts = np.arange(0, n - block + 1, hop)
    powers = (squares[:, starts + block] - squares[:, starts]) / block  # (channels, blocks)
    total = powers.sum(axis=0)
    with np.errstate(divide="ignore"):
        block_loudness = -0.691 + 10.0 * np.log10(total)
    gated = block_loudness > -70.0
    if not gated.any():
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(total[gated].mean()) - 10.0
    keep = gated & (block_loudness > relative)
    return float(-0.691 + 10.0 * np.log10(total[keep].mean()))


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
