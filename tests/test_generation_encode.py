"""Encoding to MP4 (H.264 + AAC) and decoding back, including broken files."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from generation import (
    GenerationOptions,
    MediaError,
    VideoFormat,
    decode_mp4,
    encode_mp4,
    generate_clip,
)
from generation.encode import Mp4Writer
from tests.support.samples import REPO_ROOT
from tests.support.synthetic_photos import landscape_photo

TINY = {"width": 160, "height": 90, "duration_s": 1.0, "fps": 8}


@pytest.fixture(scope="module")
def clip():
    return generate_clip(landscape_photo(320, 180, water=True), GenerationOptions(**TINY))


def test_round_trip_keeps_frames_size_rate_and_audio(clip, tmp_path):
    path = tmp_path / "clip.mp4"
    encode_mp4(clip, path)
    decoded = decode_mp4(path)
    assert decoded.frames.shape == clip.frames.shape
    assert decoded.fps == pytest.approx(8.0)
    assert decoded.sample_rate == 48000
    assert decoded.audio is not None and decoded.audio.shape[0] == 2
    assert decoded.audio.shape[1] == 48000  # as long as the pictures, AAC padding trimmed
    assert np.abs(decoded.audio).max() <= 1.0
    error = np.abs(decoded.frames.astype(np.int16) - clip.frames.astype(np.int16)).mean()
    assert error < 6.0


def test_no_audio_track_when_the_clip_has_none(clip, tmp_path):
    silent = generate_clip(landscape_photo(320, 180), GenerationOptions(**TINY, audio=False))
    path = tmp_path / "silent.mp4"
    encode_mp4(silent, path)
    decoded = decode_mp4(path)
    assert decoded.audio is None and decoded.sample_rate is None
    assert decoded.frames.shape[0] == 8


# Encodes a saved clip's frames in a fresh Python process, `times` times, printing each file's
# SHA-256, at the preset every signed clip is encoded with (the generator stage's ultrafast).
# Why a fresh process: inside one that has imported the whole suite, x264 at threads=1 gave
# different bytes for the very same frames in 4 of 6 runs (0 of 20 in a fresh process). Why that
# preset: at veryfast (b-frames, lookahead, mb-tree) even a fresh process varied once a layer
# module was added to `generation` (2 or 3 distinct files of 8, every run), and glibc's
# MALLOC_PERTURB_ made it steady: the bytes depend on what the heap held (NOTES.md).
_ENCODE_IN_FRESH_PROCESS = """
import hashlib, sys
from pathlib import Path
import numpy as np
from generation import Clip, encode_mp4
frames = np.load(sys.argv[1])
clip = Clip(frames, int(sys.argv[2]), None, 48000, "test", "0")
for index in range(int(sys.argv[3])):
    path = Path(sys.argv[4]) / f"{index}.mp4"
    encode_mp4(clip, path, threads=1, preset="ultrafast")
    print(hashlib.sha256(path.read_bytes()).hexdigest())
"""


def _fresh_encodes(frames: np.ndarray, fps: int, times: int, folder: Path) -> list[str]:
    np.save(folder / "frames.npy", frames)
    done = subprocess.run(
        [sys.executable, "-c", _ENCODE_IN_FRESH_PROCESS, str(folder / "frames.npy"), str(fps)]
        + [str(times), str(folder)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


def test_same_clip_encodes_to_identical_bytes_with_one_encoder_thread(clip, tmp_path):
    # With several x264 threads the bytes differ run to run (issue 15, finding 11). With one
    # thread, at the generator's preset, the pictures encode to the same bytes every time; with a
    # soundtrack muxed in, the video packets still varied in ~1 of 8 encodes (cause not found;
    # NOTES.md), so the promise "same seed, same bytes" is made, and tested, for the pictures.
    hashes = _fresh_encodes(clip.frames, clip.fps, 8, tmp_path)
    assert len(hashes) == 8 and len(set(hashes)) == 1, hashes


def test_same_options_give_identical_mp4_bytes(tmp_path):
    photo = landscape_photo(320, 180)
    clips = [generate_clip(photo, GenerationOptions(**TINY, seed=9)) for _ in range(2)]
    assert np.array_equal(clips[0].frames, clips[1].frames), "the same pictures"
    assert np.array_equal(clips[0].audio, clips[1].audio), "the same sound"
    hashes = []
    for name, made in zip("ab", clips, strict=True):
        (tmp_path / name).mkdir()
        hashes += _fresh_encodes(made.frames, made.fps, 1, tmp_path / name)
    assert len(hashes) == 2 and hashes[0] == hashes[1], hashes


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_file_raises_media_error(clip, tmp_path, keep):
    path = tmp_path / "clip.mp4"
    encode_mp4(clip, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(MediaError):
        decode_mp4(path)


def test_truncated_faststart_file_raises_media_error(clip, tmp_path):
    """A file with its index first (as many tools write) loses frames, not the index, when cut."""
    import av

    path, moved = tmp_path / "clip.mp4", tmp_path / "faststart.mp4"
    encode_mp4(clip, path)
    with (
        av.open(str(path)) as source,
        av.open(str(moved), "w", options={"movflags": "+faststart"}) as out,
    ):
        mapping = {s.index: out.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    data = moved.read_bytes()
    moved.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(MediaError):
        decode_mp4(moved)


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_empty_or_garbage_file_raises_media_error(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError):
        decode_mp4(path)


def test_missing_file_raises_media_error(tmp_path):
    with pytest.raises(MediaError, match="cannot read"):
        decode_mp4(tmp_path / "missing.mp4")


def test_each_frame_is_encoded_from_its_own_pixels(tmp_path):
    """The writer reuses one picture buffer: every frame must still come out as itself."""
    levels = [16, 200, 64, 235, 110, 30]
    path = tmp_path / "levels.mp4"
    with Mp4Writer(path, VideoFormat(64, 48, 6), preset="ultrafast") as writer:
        for level in levels:
            writer.write(np.full((48, 64, 3), level, np.uint8))
        writer.finish()
    decoded = decode_mp4(path)
    means = decoded.frames.reshape(len(levels), -1).mean(axis=1)
    assert np.abs(means - levels).max() < 3.0


def test_writer_refuses_a_frame_of_another_size(tmp_path):
    with (
        Mp4Writer(tmp_path / "x.mp4", VideoFormat(64, 48, 6)) as writer,
        pytest.raises(ValueError, match=r"\(48, 64, 3\) uint8"),
    ):
        writer.write(np.zeros((48, 66, 3), np.uint8))


def test_writer_wants_sound_exactly_when_opened_with_a_sample_rate(tmp_path):
    with Mp4Writer(tmp_path / "x.mp4", VideoFormat(64, 48, 6, 48000)) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        with pytest.raises(ValueError, match="sound"):
            writer.finish()
