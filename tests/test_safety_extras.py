"""Faces, PDQ hash banks, drift, audio loudness and scene cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from safety.audio_checks import audio_checks
from safety.drift import drift_signal
from safety.faces import FaceDetector
from safety.flash import linear_thumbnails
from safety.hashes import HashBank, HashBankError, HashMatcher, pdq_hash
from safety.video_checks import scene_changes

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "falcon9-dscovr-launch.jpg"
RATE = 48_000


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(SAMPLE).convert("RGB")


def _flip_bits(hash_value: bytes, count: int, seed: int = 0) -> bytes:
    bits = np.unpackbits(np.frombuffer(hash_value, dtype=np.uint8))
    bits[np.random.default_rng(seed).choice(256, count, replace=False)] ^= 1
    return np.packbits(bits).tobytes()


def test_faces_signal_is_a_count_or_honestly_not_evaluated(photo: Image.Image) -> None:
    detector = FaceDetector()
    (signal,) = detector.detect(photo)
    assert signal.category == "faces.count"
    if detector.available:
        assert signal.evaluated and signal.score == 0.0 and '"count": 0' in signal.detail
    else:  # without the interpreter or the model: never report "no faces" then
        assert not signal.evaluated and signal.detail


def test_pdq_hash_survives_a_downscale(photo: Image.Image) -> None:
    original, quality = pdq_hash(photo)
    smaller, _ = pdq_hash(photo.resize((320, 213)))
    distance = int(
        np.unpackbits(np.frombuffer(original, np.uint8) ^ np.frombuffer(smaller, np.uint8)).sum()
    )
    assert len(original) == 32 and quality >= 50 and distance <= 31


def test_bank_lookup_finds_near_copies_within_the_distance_only() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    target = hashes[1234].tobytes()
    bank = HashBank.from_array("known-bad", hashes, [f"case-{i}" for i in range(5000)])
    assert [m.index for m in bank.lookup(target)] == [1234]
    near = bank.lookup(_flip_bits(target, 31))
    assert near and near[0].index == 1234 and near[0].distance == 31
    assert bank.lookup(_flip_bits(target, 32)) == []
    assert bank.lookup(_flip_bits(target, 40), max_distance=47)[0].label == "case-1234"


def test_bank_matches_brute_force_on_random_queries() -> None:
    rng = np.random.default_rng(4)
    hashes = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    bank = HashBank.from_array("b", hashes)
    for i in range(20):
        query = _flip_bits(hashes[i * 7].tobytes(), int(rng.integers(0, 40)), seed=i)
        distances = np.unpackbits(hashes ^ np.frombuffer(query, np.uint8), axis=1).sum(1)
        expected = sorted(np.flatnonzero(distances <= 31).tolist())
        assert sorted(m.index for m in bank.lookup(query)) == expected


def test_bank_file_round_trip_and_errors(tmp_path: Path, photo: Image.Image) -> None:
    hash_value, _ = pdq_hash(photo)
    path = tmp_path / "launches.txt"
    path.write_text(f"# known launches\n{hash_value.hex()},falcon9\n\n")
    bank = HashBank.load(path)
    assert bank.name == "launches" and len(bank) == 1
    (signal,) = HashMatcher([bank]).match_photo(photo)
    assert signal.category == "hash.launches" and signal.score == 1.0 and "falcon9" in signal.detail
    bad = tmp_path / "bad.txt"
    bad.write_text("abc123\n")
    with pytest.raises(HashBankError, match="line 1"):
        HashBank.load(bad)


def test_flat_images_are_too_low_quality_to_match(photo: Image.Image) -> None:
    bank = HashBank("b", [pdq_hash(photo)[0]])
    (signal,) = HashMatcher([bank]).match_photo(Image.new("RGB", (64, 64), "gray"))
    assert not signal.evaluated and "quality" in signal.detail


def test_frames_match_with_their_time_range(photo: Image.Image) -> None:
    bank = HashBank("b", [pdq_hash(photo)[0]])
    other = np.zeros((427, 640, 3), np.uint8)
    other[:, ::20] = 255
    frames = np.stack([other, np.asarray(photo), np.asarray(photo)])
    (signal,) = HashMatcher([bank]).match_frames(frames, np.array([0.0, 0.5, 1.0]))
    assert signal.score == 1.0 and (signal.start_s, signal.end_s) == (0.5, 1.0)


def test_empty_bank_matches_nothing(photo: Image.Image) -> None:
    (signal,) = HashMatcher([HashBank("empty")]).match_photo(photo)
    assert signal.evaluated and signal.score == 0.0


def test_drift_is_low_for_the_photo_and_high_for_other_content(photo: Image.Image) -> None:
    same = np.repeat(np.asarray(photo.resize((320, 180)))[None], 3, axis=0)
    assert drift_signal(photo, same, np.arange(3) * 0.5).score < 0.35
    green = np.zeros((3, 180, 320, 3), np.uint8)
    green[..., 1] = 200
    drifted = drift_signal(photo, green, np.arange(3) * 0.5)
    assert drifted.score > 0.8 and drifted.start_s == 0.0 and drifted.end_s == 1.0


def test_quiet_ambience_passes_audio_checks() -> None:
    noise = 0.03 * np.random.default_rng(0).standard_normal((2, RATE * 3))
    signals = {s.category: s for s in audio_checks(noise.astype(np.float32), RATE)}
    assert all(s.score == 0.0 for s in signals.values())
    assert "LUFS" in signals["audio.loudness"].detail


def test_sine_reference_level_reads_minus_23_lufs() -> None:
    t = np.arange(RATE * 2) / RATE
    sine = (0.1 * np.sin(2 * np.pi * 1000 * t))[None].astype(np.float32)
    (loudness,) = [s for s in audio_checks(sine, RATE) if s.category == "audio.loudness"]
    assert "-23.0 LUFS" in loudness.detail


def test_sudden_loud_burst_is_a_spike_with_its_time() -> None:
    audio = 0.01 * np.random.default_rng(1).standard_normal((2, RATE * 4))
    audio[:, RATE * 3 : RATE * 3 + RATE // 2] *= 90
    signals = {s.category: s for s in audio_checks(audio.astype(np.float32), RATE)}
    spike = signals["audio.spike"]
    assert spike.score == 1.0 and 2.6 <= spike.start_s <= 3.1
    assert signals["audio.peak"].score == 1.0


@pytest.mark.parametrize(("channels", "loud"), [(6, 3), (8, 6), (8, 7)])
def test_a_loud_channel_counts_whatever_its_place(channels: int, loud: int) -> None:
    # An uploaded clip may carry up to 8 channels; a burst on the LFE slot or past the 5.1 ones
    # must not measure as silence (libebur128's default map leaves those channels unused).
    audio = np.zeros((channels, RATE * 3), np.float32)
    audio[loud, RATE * 2 :] = 0.9 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)
    signals = {s.category: s for s in audio_checks(audio, RATE)}
    assert signals["audio.loudness"].score > 0.5
    assert signals["audio.spike"].score == 1.0


@pytest.mark.parametrize("rate", [11025, 22050, 44100, 48000])
def test_momentary_blocks_step_every_100_ms_from_the_start(rate: int) -> None:
    # 400 ms blocks start every 100 ms from 0: a burst at 1.0-1.1 s is loudest in the block that
    # starts at 0.8 s (the whole burst and the weighting filter's ring after it), whatever the
    # sample rate; pyloudnorm said 0.8 s at 11025 and 48000 Hz too
    audio = np.zeros((1, rate * 2), np.float32)
    audio[0, rate : rate + rate // 10] = 0.9
    spike = {s.category: s for s in audio_checks(audio, rate)}["audio.spike"]
    assert spike.score == 1.0
    assert spike.start_s == pytest.approx(0.8)


def test_missing_audio_is_not_evaluated() -> None:
    assert all(not s.evaluated for s in audio_checks(None, RATE))


def test_scene_cuts_are_found() -> None:
    frames = np.zeros((48, 36, 64, 3), np.uint8)
    frames[20:] = 230
    assert scene_changes(linear_thumbnails(frames)).tolist() == [20]
    assert scene_changes(linear_thumbnails(frames[:10])).tolist() == []
