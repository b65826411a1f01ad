"""Audio checks on a clip's soundtrack: loudness (ITU-R BS.1770 / EBU R128), peaks and spikes.

- `audio.loudness`: gated integrated loudness in LUFS. Streaming platforms normalise to about
  -14 LUFS; score = (LUFS + 14) / 10 clipped to [0, 1], so -14 scores 0 and -4 LUFS (painfully
  loud for ambience) scores 1.
- `audio.peak`: sample peak after 4x oversampling (an estimate of true peak), dBFS; score =
  (dBTP + 3) / 3 clipped, so -3 dBTP scores 0 and 0 dBTP (clipping) scores 1.
- `audio.spike`: the largest rise of momentary loudness (400 ms blocks, 100 ms hop) over the
  quietest of the preceding 1 s, in LU: a jump scare. Score = (rise - 10) / 10 clipped, so a
  20 LU jump scores 1; the time range is where it happens.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps  # type: ignore[import-untyped]

from safety.signals import Signal

MODEL = "bs1770@1"
_ABSOLUTE_GATE = -70.0
_OVERSAMPLE_ABOVE = 10 ** (-6 / 20)


def _k_filter(sample_rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770 K-weighting (high shelf + RLB high-pass) for any sample rate (bilinear design)."""
    # High shelf: +4 dB above ~1.5 kHz.
    gain_db, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array(
        [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    )
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    # RLB high-pass at ~38 Hz.
    q, fc = 0.5003270373238773, 38.13547087602444
    k = math.tan(math.pi * fc / sample_rate)
    a0 = 1 + k / q + k * k
    high_b = np.array([1.0, -2.0, 1.0])
    high_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return [(shelf_b, shelf_a), (high_b, high_a)]


def _block_powers(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Mean-square power summed over channels of K-weighted 400 ms blocks, 100 ms hop."""
    weighted = audio.astype(np.float64)
    for b, a in _k_filter(sample_rate):
        weighted = sps.lfilter(b, a, weighted, axis=-1)
    block, hop = int(0.4 * sample_rate), int(0.1 * sample_rate)
    n = weighted.shape[-1]
    if n < block:
        block = hop = n
    cumulative = np.concatenate(
        [np.zeros((weighted.shape[0], 1)), np.cumsum(weighted**2, axis=-1)], axis=-1
    )
    starts = np.arange(0, n - block + 1, hop)
    powers = (cumulative[:, starts + block] - cumulative[:, starts]) / block
    return powers.sum(axis=0), hop / sample_rate


def _loudness(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def integrated_loudness(powers: np.ndarray) -> float:
    """Gated integrated loudness (LUFS) from block powers; -inf for silence."""
    loud = _loudness(powers)
    gated = loud > _ABSOLUTE_GATE
    if not gated.any():
        return float("-inf")
    relative = float(_loudness(np.array([powers[gated].mean()]))[0]) - 10.0
    keep = gated & (loud > relative)
    return float(_loudness(np.array([powers[keep].mean()]))[0])


def audio_checks(audio: np.ndarray | None, sample_rate: int) -> list[Signal]:
    """Loudness, peak and spike signals for (channels, samples) float audio in [-1, 1]."""
    categories = ("audio.loudness", "audio.peak", "audio.spike")
    if audio is None or np.asarray(audio).size == 0:
        return [
            Signal(c, 0.0, MODEL, evaluated=False, detail="clip has no audio track")
            for c in categories
        ]
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[0] > audio.shape[1]:
        audio = audio.T  # accept (samples, channels)
    powers, hop_s = _block_powers(audio, sample_rate)
    lufs = integrated_loudness(powers)
    peak = float(np.abs(audio).max())
    peak_kind = "sample peak"
    if peak > _OVERSAMPLE_ABOVE:
        # Inter-sample peaks exceed sample peaks by under 3 dB in practice: only audio whose
        # samples already reach -6 dBFS can score, so only that is worth oversampling.
        peak = float(np.abs(sps.resample_poly(audio, 4, 1, axis=-1)).max())
        peak_kind = "true peak (4x oversampled)"
    peak_db = 20 * math.log10(peak) if peak > 0 else float("-inf")

    momentary = _loudness(np.maximum(powers, 1e-12))
    window = max(1, round(1.0 / hop_s))
    rise, at = 0.0, 0
    for i in range(1, len(momentary)):
        floor = momentary[max(0, i - window) : i].min()
        if momentary[i] - floor > rise:
            rise, at = float(momentary[i] - floor), i
    spike_start = at * hop_s
    return [
        Signal(
            "audio.loudness",
            _clip01((lufs + 14) / 10),
            MODEL,
            detail=f"integrated loudness {lufs:.1f} LUFS",
        ),
        Signal(
            "audio.peak",
            _clip01((peak_db + 3) / 3),
            MODEL,
            detail=f"{peak_kind} {peak_db:.1f} dBFS",
        ),
        Signal(
            "audio.spike",
            _clip01((rise - 10) / 10),
            MODEL,
            start_s=round(spike_start, 3),
            end_s=round(spike_start + 0.4, 3),
            detail=f"largest momentary loudness jump {rise:.1f} LU at {spike_start:.1f} s",
        ),
    ]


def _clip01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return round(min(1.0, max(0.0, value)), 4)
