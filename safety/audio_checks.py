"""Audio checks on a clip's soundtrack: loudness (ITU-R BS.1770 / EBU R128), peaks and spikes.

- `audio.loudness`: gated integrated loudness in LUFS (libebur128's BS.1770-4 meter, through
  pyebur128; it imports in milliseconds, where pyloudnorm's scipy.signal took ~0.5 s of a cold
  `run`, 2026-12-07). Streaming platforms normalise to about
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
from typing import Any

import numpy as np
import pyebur128  # type: ignore[import-untyped]

from safety.signals import Signal

MODEL = "bs1770@3"  # libebur128's BS.1770-4 meter (pyebur128); @2 was pyloudnorm's
_BLOCK_S = 0.4  # BS.1770's gating block, stepped by a quarter (100 ms)
_QUIETEST_LUFS = -120.691  # momentary loudness of digital silence, for the spike's floor
_OVERSAMPLE_ABOVE = 10 ** (-6 / 20)


def _meter(audio: np.ndarray, sample_rate: int, mode: int) -> tuple[Any, np.ndarray]:
    """A libebur128 state for (channels, samples) audio in `mode`, and the audio interleaved.

    Every channel is measured: the first three as front channels (weight 1), the rest as
    surround (1.41). libebur128's default map leaves channel 3 (LFE) and channels past 5 out, so
    a burst there would measure as silence on an uploaded clip of up to 8 channels."""
    channels = audio.shape[0]
    state = pyebur128.R128State(channels, sample_rate, mode)
    front = (pyebur128.ChannelType.LEFT, pyebur128.ChannelType.RIGHT, pyebur128.ChannelType.CENTER)
    for channel in range(channels):
        kind = front[channel] if channel < len(front) else pyebur128.ChannelType.LEFT_SURROUND
        state.set_channel(channel, kind)
    return state, np.ascontiguousarray(audio.T, dtype=np.float64).ravel()


def _loudness(audio: np.ndarray, sample_rate: int) -> tuple[float, np.ndarray]:
    """Integrated loudness (LUFS) and momentary loudness of each 400 ms block, 100 ms apart
    (block j ends at sample int(0.4 (1 + j / 4) rate), as BS.1770's gating blocks do).
    A sound shorter than one block is measured as if looped to fill it."""
    block = math.ceil(_BLOCK_S * sample_rate)
    looped = np.tile(audio, (1, math.ceil(block / audio.shape[1])))[:, : max(block, audio.shape[1])]
    state, frames = _meter(looped, sample_rate, pyebur128.MeasurementMode.MODE_I)
    channels, length = looped.shape
    blocks = round((length / sample_rate - _BLOCK_S) / (_BLOCK_S / 4)) + 1
    momentary, fed = [], 0
    for j in range(blocks):
        end = min(length, int(_BLOCK_S * (1 + j / 4) * sample_rate))
        if end > fed:
            state.add_frames(frames[fed * channels : end * channels], end - fed)
            fed = end
        momentary.append(pyebur128.get_loudness_momentary(state))
    if length > fed:
        state.add_frames(frames[fed * channels :], length - fed)
    lufs = float(pyebur128.get_loudness_global(state))
    return lufs, np.maximum(np.asarray(momentary, np.float64), _QUIETEST_LUFS)


def _true_peak(audio: np.ndarray, sample_rate: int) -> float:
    """The largest inter-sample peak over the channels (libebur128 oversamples)."""
    state, frames = _meter(audio, sample_rate, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    state.add_frames(frames, audio.shape[1])
    return max(pyebur128.get_true_peak(state, c) for c in range(audio.shape[0]))


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
    lufs, momentary = _loudness(audio, sample_rate)
    peak = float(np.abs(audio).max())
    peak_kind = "sample peak"
    if peak > _OVERSAMPLE_ABOVE:
        # Inter-sample peaks exceed sample peaks by under 3 dB in practice: only audio whose
        # samples already reach -6 dBFS can score, so only that is worth oversampling.
        peak = _true_peak(audio, sample_rate)
        peak_kind = "true peak (oversampled)"
    peak_db = 20 * math.log10(peak) if peak > 0 else float("-inf")

    hop_s = _BLOCK_S / 4
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
        Signal.spanning(
            "audio.spike",
            _clip01((rise - 10) / 10),
            MODEL,
            spike_start,
            spike_start + _BLOCK_S,
            f"largest momentary loudness jump {rise:.1f} LU at {spike_start:.1f} s",
        ),
    ]


def _clip01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return round(min(1.0, max(0.0, value)), 4)
