"""Ambient sound synthesised to match the scene: wind, sea, birdsong, rustling leaves, crickets,
rain, a stream, city hum. Noise beds are shaped in the frequency domain, so they are circular and
a looping clip's audio meets its own start without a click; envelopes repeat over the clip too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .clip import SAMPLE_RATE
from .loudness import integrated_loudness, normalize_loudness
from .motion_prompt import MotionPlan
from .options import GenerationOptions
from .scene import Scene

TARGET_LUFS = -20.0
PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS
LAYER_GAIN_DB = {
    "wind": -4.0,
    "sea": 0.0,
    "birdsong": -9.0,
    "rustle": -11.0,
    "crickets": -13.0,
    "rain": -3.0,
    "stream": -4.0,
    "city": -6.0,
}


def choose_layers(scene: Scene, plan: MotionPlan) -> list[str]:
    """Which ambient layers fit the scene (and what the motion prompt asked to hear)."""
    sky, water, foliage = scene.fraction("sky"), scene.fraction("water"), scene.fraction("foliage")
    layers: list[str] = []
    if water >= 0.05:
        layers.append("sea")
    if sky >= 0.1 or not layers:
        layers.append("wind")
    if foliage >= 0.05:
        layers.append("rustle")
    if scene.is_night:
        if foliage >= 0.02 or sky >= 0.1:
            layers.append("crickets")
    elif foliage >= 0.02 or sky >= 0.1:
        layers.append("birdsong")
    if sky < 0.05 and water < 0.05 and foliage < 0.05 and scene.luma > 0.05:
        layers.append("city")
    for sound in plan.sounds:
        if sound not in layers:
            layers.append(sound)
    return layers


def synthesize_ambient(
    scene: Scene, options: GenerationOptions, plan: MotionPlan, *, samples: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Returns float32 (2, samples) audio normalised to TARGET_LUFS with no sample over -1 dBFS,
    and a JSON-ready description (layers, loudness, peak)."""
    rng = np.random.default_rng([options.seed, 0xA0D10])
    layers = choose_layers(scene, plan)
    mix = np.zeros((2, samples), np.float64)
    described = []
    for name in layers:
        layer = _LAYERS[name](rng, samples, options)
        rms = float(np.sqrt(np.mean(layer**2))) or 1.0
        gain_db = LAYER_GAIN_DB[name]
        mix += layer / rms * 10 ** (gain_db / 20)
        described.append({"layer": name, "gain_db": gain_db})
    if not options.loop:
        mix *= _fades(samples)
    mix = normalize_loudness(mix, TARGET_LUFS, PEAK_CEILING).astype(np.float32)
    peak = float(np.abs(mix).max())
    return mix, {
        "layers": described,
        "loudness_lufs": round(integrated_loudness(mix), 2),
        "target_lufs": TARGET_LUFS,
        "peak_dbfs": round(20 * math.log10(peak), 2) if peak > 0 else None,
    }


def _fades(samples: int) -> np.ndarray:
    fade_in, fade_out = (
        min(samples // 4, int(0.04 * SAMPLE_RATE)),
        min(samples // 4, int(0.25 * SAMPLE_RATE)),
    )
    env = np.ones(samples)
    env[:fade_in] = np.sin(np.linspace(0, np.pi / 2, fade_in)) ** 2
    env[samples - fade_out :] = np.cos(np.linspace(0, np.pi / 2, fade_out)) ** 2
    return env


def _shaped_noise(
    rng: np.random.Generator,
    samples: int,
    gain: Callable[[np.ndarray], np.ndarray],
    channels: int = 2,
    spread: float = 0.35,
) -> np.ndarray:
    """Noise with the given magnitude response (a function of Hz); circular, so it loops cleanly.
    The channels are correlated by 1 - spread: a wide but coherent stereo image."""
    shape = gain(np.fft.rfftfreq(samples, 1.0 / SAMPLE_RATE)).astype(np.float32)
    white = rng.standard_normal((channels, samples), dtype=np.float32)
    shaped = np.fft.irfft(np.fft.rfft(white, axis=-1) * shape, samples, axis=-1)
    if channels == 2:
        shaped[1] = (1.0 - spread) * shaped[0] + math.sqrt(1.0 - (1.0 - spread) ** 2) * shaped[1]
    return shaped / (np.sqrt(np.mean(shaped**2)) or 1.0)


def _envelope(rng: np.random.Generator, samples: int, rate_hz: float) -> np.ndarray:
    """A slow random swell in about [0, 1], circular over the clip."""
    control = max(4, int(samples / SAMPLE_RATE * rate_hz * 4))
    spectrum = np.fft.rfft(rng.standard_normal(control))
    spectrum[int(control / 4) + 1 :] = 0.0  # keep only variations slower than rate_hz
    spectrum[0] = 0.0
    slow = np.fft.irfft(spectrum, control)
    slow /= np.abs(slow).max() or 1.0
    # resample circularly to audio rate
    positions = np.arange(samples) * (control / samples)
    lower = np.floor(positions).astype(int)
    frac = positions - lower
    smooth = slow[lower % control] * (1 - frac) + slow[(lower + 1) % control] * frac
    return 0.5 + 0.5 * smooth


def _bandpass(low: float, high: float, slope: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    def gain(f: np.ndarray) -> np.ndarray:
        f = np.maximum(f, 1.0)
        return 1.0 / np.sqrt(1 + (low / f) ** (4 * slope)) / np.sqrt(1 + (f / high) ** (4 * slope))

    return gain


def _wind(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    def gain(f: np.ndarray) -> np.ndarray:
        f = np.maximum(f, 1.0)
        return (1.0 / np.sqrt(f)) / np.sqrt(1 + (f / 700.0) ** 4) / np.sqrt(1 + (40.0 / f) ** 4)

    bed = _shaped_noise(rng, samples, gain)
    gusts = _shaped_noise(rng, samples, _bandpass(300, 1400, 1.5))
    env = _envelope(rng, samples, 0.25)
    env2 = _envelope(rng, samples, 0.4)
    return bed * (0.45 + 0.55 * env) + 0.35 * gusts * env2**2


def _sea(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    def pink(f: np.ndarray) -> np.ndarray:
        f = np.maximum(f, 1.0)
        return 1.0 / np.sqrt(f) / np.sqrt(1 + (f / 5000.0) ** 2) / np.sqrt(1 + (60.0 / f) ** 4)

    wash = _shaped_noise(rng, samples, pink)
    rumble = _shaped_noise(rng, samples, _bandpass(30, 180))
    duration = samples / SAMPLE_RATE
    # waves: a swell every 5-8 s (a whole number of them over a loop), sharp rise, long decay
    waves = max(1, round(duration / rng.uniform(5.0, 8.0)))
    phase = (np.arange(samples) / samples * waves + rng.uniform(0, 1)) % 1.0
    swell = np.where(
        phase < 0.25, np.sin(phase / 0.25 * np.pi / 2) ** 2, np.exp(-(phase - 0.25) * 5.0)
    )
    return wash * (0.25 + 0.75 * swell) + 0.5 * rumble * (0.5 + 0.5 * swell)


def _chirps(
    rng: np.random.Generator,
    samples: int,
    rate_per_s: float,
    make: Callable[[np.random.Generator], np.ndarray],
) -> np.ndarray:
    """Places calls made by `make` at random times (wrapping round the end), panned."""
    out = np.zeros((2, samples))
    count = max(1, int(rng.poisson(rate_per_s * samples / SAMPLE_RATE)))
    for _ in range(count):
        call = make(rng)
        start = int(rng.integers(0, samples))
        pan = rng.uniform(0.15, 0.85)
        level = rng.uniform(0.4, 1.0)
        idx = (start + np.arange(call.size)) % samples
        out[0, idx] += call * level * math.sqrt(1 - pan)
        out[1, idx] += call * level * math.sqrt(pan)
    return out


def _bird_call(rng: np.random.Generator) -> np.ndarray:
    """A phrase of 2-6 FM chirps: a sweep with vibrato, a sine-squared envelope, a weak harmonic."""
    parts = []
    base = rng.uniform(2500, 5000)
    for _ in range(int(rng.integers(2, 7))):
        length = int(rng.uniform(0.05, 0.16) * SAMPLE_RATE)
        t = np.arange(length) / SAMPLE_RATE
        sweep = base + rng.uniform(-1500, 1500) * (t / t[-1])
        vibrato = rng.uniform(100, 450) * np.sin(2 * np.pi * rng.uniform(20, 70) * t)
        phase = 2 * np.pi * np.cumsum(sweep + vibrato) / SAMPLE_RATE
        env = np.sin(np.pi * t / t[-1]) ** 2
        parts.append(env * (np.sin(phase) + 0.2 * np.sin(2 * phase)))
        parts.append(np.zeros(int(rng.uniform(0.03, 0.12) * SAMPLE_RATE)))
    return np.concatenate(parts)


def _birdsong(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    return _chirps(rng, samples, 0.9, _bird_call)


def _cricket_call(rng: np.random.Generator) -> np.ndarray:
    carrier = rng.uniform(4000, 5200)
    pulses = int(rng.integers(3, 6))
    pulse = int(0.018 * SAMPLE_RATE)
    gap = int(0.022 * SAMPLE_RATE)
    t = np.arange(pulses * (pulse + gap)) / SAMPLE_RATE
    gate = ((np.arange(t.size) % (pulse + gap)) < pulse).astype(float)
    gate = np.convolve(gate, np.hanning(64) / 32.0, mode="same")
    return gate * np.sin(2 * np.pi * carrier * t)


def _crickets(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    return _chirps(rng, samples, 3.0, _cricket_call)


def _rustle(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    leaves = _shaped_noise(rng, samples, _bandpass(1500, 8000), spread=0.7)
    return leaves * _envelope(rng, samples, 0.6) ** 2


def _rain(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    hiss = _shaped_noise(rng, samples, _bandpass(800, 9000), spread=0.8)
    drops = np.zeros((2, samples))
    count = int(samples / SAMPLE_RATE * 60)
    positions = rng.integers(0, samples, size=(2, count))
    amplitudes = rng.uniform(0.5, 3.0, size=(2, count))
    for c in range(2):
        np.add.at(drops[c], positions[c], amplitudes[c])
    drops = np.fft.irfft(
        np.fft.rfft(drops, axis=-1)
        * _bandpass(1500, 6000)(np.fft.rfftfreq(samples, 1.0 / SAMPLE_RATE)),
        samples,
        axis=-1,
    )
    drops /= np.sqrt(np.mean(drops**2)) or 1.0
    return hiss + 0.5 * drops


def _stream(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    bed = _shaped_noise(rng, samples, _bandpass(400, 3500))
    burble = _shaped_noise(rng, samples, _bandpass(8, 30), channels=2, spread=0.5)
    return bed * (0.7 + 0.3 * np.tanh(2 * burble))


def _city(rng: np.random.Generator, samples: int, options: GenerationOptions) -> np.ndarray:
    def brown(f: np.ndarray) -> np.ndarray:
        f = np.maximum(f, 1.0)
        return 1.0 / f / np.sqrt(1 + (25.0 / f) ** 4) / np.sqrt(1 + (f / 1200.0) ** 2)

    traffic = _shaped_noise(rng, samples, brown) * (0.6 + 0.4 * _envelope(rng, samples, 0.15))
    t = np.arange(samples) / SAMPLE_RATE
    hum_hz = round(rng.choice([50.0, 60.0]) * samples / SAMPLE_RATE) / (
        samples / SAMPLE_RATE
    )  # whole cycles
    hum = 0.15 * (np.sin(2 * np.pi * hum_hz * t) + 0.5 * np.sin(4 * np.pi * hum_hz * t))
    return traffic + hum[None, :]


_LAYERS: dict[str, Callable[[np.random.Generator, int, GenerationOptions], np.ndarray]] = {
    "wind": _wind,
    "sea": _sea,
    "birdsong": _birdsong,
    "rustle": _rustle,
    "crickets": _crickets,
    "rain": _rain,
    "stream": _stream,
    "city": _city,
}
