"""MP4 in and out with PyAV: H.264 yuv420p + AAC, deterministic bytes; one sequential decode pass."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Self

import av
import cv2
import numpy as np
from av.codec.context import Flags

from .buffers import frame_buffer
from .clip import Clip, VideoFormat

AUDIO_FRAME = 1024


class MediaError(Exception):
    """The media is corrupt, truncated or unreadable; the message says what and where."""


def rgb_to_yuv420(frame: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
    """RGB (H, W, 3) uint8 to planar I420 (H*3/2, W), BT.601 limited range (what H.264 players
    assume for untagged SD/HD streams and what the decoder's swscale inverts); into `dst` if given."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420, dst=dst)


class Mp4Writer:
    """Writes H.264 (yuv420p, BT.601) + AAC stereo to an MP4 a frame at a time, so a caller can
    encode frames while later ones are still being made. With `threads=1` the same frames give
    the same bytes in a fresh process (the muxer runs bit-exact: no creation time, no library
    version strings); in a long-lived process that has imported much else, the bytes of the very
    same frames differed in some runs (cause unknown, NOTES.md). With more encoder threads (0,
    the default: as many as the machine has) x264's threads make the bytes differ run to run (3
    outputs in 40 encodes of one tiny clip, measured), so only the frames handed in are then the
    same for the same seed.

    Use as a context manager: `write` each RGB frame in order, then `finish` with the sound (if
    the format has a sample rate, the file has an audio track and `finish` needs the samples)."""

    def __init__(
        self,
        path: pathlib.Path,
        video_format: VideoFormat,
        *,
        preset: str = "veryfast",
        crf: int = 20,
        threads: int = 0,
    ) -> None:
        width, height, fps = video_format.width, video_format.height, video_format.fps
        sample_rate = video_format.sample_rate
        if width % 2 or height % 2:
            raise ValueError(f"H.264 yuv420p needs even sizes, got {width}x{height}")
        self.path = pathlib.Path(path)
        self.width, self.height = width, height
        self.frames_written = 0
        self.keyframes: list[int] = []  # frames encoded as keyframes: what decodes on its own
        # one I420 buffer for every frame, handed to the encoder without a copy (x264 copies the
        # picture in when it takes it): 0.25 ms a 720p frame against 1.0 ms for a fresh
        # conversion plus a copy, whose new memory faults in page by page (measured)
        self._yuv = np.empty((height * 3 // 2, width), np.uint8)
        try:
            self._container = av.open(
                str(self.path), mode="w", format="mp4", options={"fflags": "+bitexact"}
            )
            video = self._container.add_stream(
                "libx264", rate=Fraction(fps), options={"crf": str(crf), "preset": preset}
            )
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.flags |= Flags.bitexact
            video.codec_context.color_range = 1  # MPEG (limited)
            video.codec_context.colorspace = 6  # SMPTE 170M (BT.601)
            video.codec_context.thread_count = threads
            self._video = video
            self._audio = None
            if sample_rate is not None:
                # the "fast" coder: 0.05 s for 5 s of stereo against 0.17 s for the default
                # two-loop search (measured), at the same 128 kb/s
                self._audio = self._container.add_stream(
                    "aac", rate=sample_rate, layout="stereo", options={"aac_coder": "fast"}
                )
                self._audio.codec_context.flags |= Flags.bitexact
        except av.FFmpegError as exc:
            if hasattr(self, "_container"):
                self._container.close()
            raise MediaError(f"could not encode {self.path}: {exc}") from exc
        self.sample_rate = sample_rate

    def write(self, frame: np.ndarray) -> None:
        """Encodes the next frame: (H, W, 3) uint8 RGB of the writer's size."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frames must be ({self.height}, {self.width}, 3) uint8, got "
                f"{frame.shape} {frame.dtype}"
            )
        rgb_to_yuv420(frame, dst=self._yuv)
        if self.height % 4 == 0:
            picture = av.VideoFrame.from_numpy_buffer(self._yuv, format="yuv420p")
        else:  # PyAV 18 takes such an I420 buffer for a frame two rows short: copy it instead
            picture = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
        picture.pts = self.frames_written
        try:
            self._mux_video(self._video.encode(picture))
        except av.FFmpegError as exc:
            raise MediaError(f"could not encode {self.path}: {exc}") from exc
        self.frames_written += 1

    def _mux_video(self, packets: list[av.Packet]) -> None:
        # the encoder's packets count time in frames (pts = frame index) until muxing rebases them
        self.keyframes.extend(int(p.pts) for p in packets if p.is_keyframe and p.pts is not None)
        self._container.mux(packets)

    def finish(self, audio: np.ndarray | None = None) -> None:
        """Flushes the video, encodes the sound (float32 (2, samples) in [-1, 1]) and closes."""
        if (audio is None) != (self._audio is None):
            raise ValueError(
                "the sound must be given exactly when the writer was opened with a sample rate"
            )
        try:
            self._mux_video(self._video.encode(None))
            if self._audio is not None and audio is not None and self.sample_rate is not None:
                _encode_audio(self._container, self._audio, audio, self.sample_rate)
            self._container.close()
        except av.FFmpegError as exc:
            raise MediaError(f"could not encode {self.path}: {exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # after finish() this is a no-op; after an error it releases the file (left incomplete)
        self._container.close()


def encode_mp4(
    clip: Clip,
    path: pathlib.Path,
    *,
    preset: str = "veryfast",
    crf: int = 20,
    threads: int = 0,
) -> list[int]:
    """Encodes the clip once: H.264 (yuv420p, BT.601) + AAC stereo. With `threads=1` identical
    clips give identical bytes (see Mp4Writer, which `generation.streaming` also feeds).

    Returns the indices of the frames encoded as keyframes: the ones a reader can decode without
    the frames before them (the output gate's cheap check of the file reads only those)."""
    frames = clip.frames
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"clip frames must be (N, H, W, 3) uint8, got {frames.shape} {frames.dtype}"
        )
    with Mp4Writer(path, clip.video_format, preset=preset, crf=crf, threads=threads) as writer:
        for frame in frames:
            writer.write(frame)
        writer.finish(clip.audio)
    return writer.keyframes


def _encode_audio(container, stream, audio: np.ndarray, sample_rate: int) -> None:
    samples = np.ascontiguousarray(np.clip(audio, -1.0, 1.0), dtype=np.float32)
    if samples.ndim != 2 or samples.shape[0] != 2:
        raise ValueError(f"clip audio must be (2, samples) float32, got {samples.shape}")
    for start in range(0, samples.shape[1], AUDIO_FRAME):
        chunk = np.ascontiguousarray(samples[:, start : start + AUDIO_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


@dataclass
class DecodedClip:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB
    fps: float
    audio: np.ndarray | None  # float32 (channels, samples)
    sample_rate: int | None


def _frame_rgb(frame: av.VideoFrame) -> np.ndarray:
    """RGB pixels of a decoded frame.

    For the common yuv420p case OpenCV's I420 conversion is ~2x faster than swscale's rgb24 here
    (0.49 s against 0.77 s for 120 frames of 720p); the two differ by about one level on average,
    which no check downstream can tell apart. Other pixel formats go through swscale.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def decode_mp4(
    path: pathlib.Path, *, on_frame: Callable[[int, int, float], None] | None = None
) -> DecodedClip:
    """Decodes every frame once and holds them all (our own clips; a stranger's go through
    `read_mp4`, which keeps none). `on_frame` and the errors are `read_mp4`'s."""
    frames: list[np.ndarray] = []
    buffer: np.ndarray | None = None
    declared = 0

    def open_sink(_fps: float, frames_declared: int) -> Callable[[np.ndarray], None]:
        nonlocal declared
        declared = frames_declared
        return keep

    def keep(pixels: np.ndarray) -> None:
        nonlocal buffer
        if buffer is None and declared:
            buffer = frame_buffer(declared, *pixels.shape[:2])
        if buffer is not None and len(frames) < buffer.shape[0]:
            buffer[len(frames)] = pixels  # straight into the clip's array
            pixels = buffer[len(frames)]
        frames.append(pixels)

    reader = read_mp4(path, open_sink, on_frame=on_frame)
    if buffer is not None and len(frames) == buffer.shape[0]:
        stacked = buffer
    else:
        stacked = np.stack(frames)
    return DecodedClip(
        frames=stacked, fps=reader.fps, audio=reader.audio, sample_rate=reader.sample_rate
    )


@dataclass
class Mp4Read:
    """What `read_mp4` learned besides the frames it handed on."""

    fps: float
    frames: int  # decoded
    declared: int  # in the header (0 when it does not say)
    audio: np.ndarray | None  # float32 (channels, samples)
    sample_rate: int | None


def read_mp4(
    path: pathlib.Path,
    open_sink: Callable[[float, int], Callable[[np.ndarray], None]],
    *,
    on_frame: Callable[[int, int, float], None] | None = None,
    on_audio: Callable[[int, float], None] | None = None,
) -> Mp4Read:
    """Decodes a clip once, sequentially (one demux pass for video and audio), handing each RGB
    frame to the sink that `open_sink(fps, frames_declared)` returns and keeping none of them.

    `on_frame(width, height, seconds)` hears of each frame before it is converted, and may raise
    to stop decoding (a stranger's clip over its budget); `on_audio(channels, seconds)` likewise
    hears of each block of sound with the seconds of it decoded so far. Raises MediaError for missing, empty,
    corrupt or truncated files (fewer frames than the container declares, or no video at all)."""
    path = pathlib.Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise MediaError(f"{path} is empty")
    count = 0
    audio_parts: list[np.ndarray] = []
    audio_samples = 0
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream")
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            audio = container.streams.audio[0] if container.streams.audio else None
            declared = int(video.frames or 0)
            fps = float(video.average_rate or video.guessed_rate or 0) or 0.0
            sample_rate = int(audio.rate) if audio is not None else None
            streams = [video] + ([audio] if audio is not None else [])
            sink = open_sink(fps, declared)
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        if on_frame is not None:
                            on_frame(frame.width, frame.height, float(frame.time or 0.0))
                        sink(_frame_rgb(frame))
                        count += 1
                    elif isinstance(frame, av.AudioFrame):
                        samples = frame.to_ndarray()
                        if not frame.format.is_planar:
                            samples = samples.reshape(-1, len(frame.layout.channels)).T
                        audio_samples += samples.shape[1]
                        if on_audio is not None and sample_rate:
                            on_audio(samples.shape[0], audio_samples / sample_rate)
                        audio_parts.append(samples)
    except MediaError:
        raise
    except (av.FFmpegError, EOFError, ValueError) as exc:
        raise MediaError(f"{path} is corrupt or truncated: {exc}") from exc
    if not count:
        raise MediaError(f"{path} has no decodable video frames (corrupt or truncated)")
    if declared and count < declared:
        raise MediaError(f"{path} is truncated: decoded {count} of {declared} frames")
    audio_track = np.concatenate(audio_parts, axis=1).astype(np.float32) if audio_parts else None
    if audio_track is not None and sample_rate and fps > 0:
        # AAC pads its last frame: keep the sound as long as the pictures
        audio_track = audio_track[:, : max(1, round(count / fps * sample_rate))]
    return Mp4Read(
        fps=fps,
        frames=count,
        declared=declared,
        audio=audio_track,
        sample_rate=sample_rate if audio_track is not None else None,
    )


@dataclass
class Keyframes:
    """A clip's keyframes, decoded alone (each decodes without the frames before it)."""

    fps: float
    declared: int  # frames in the header (0 when it does not say)
    frames: dict[int, np.ndarray]  # frame index -> RGB pixels


def decode_keyframes(path: pathlib.Path) -> Keyframes:
    """Decodes only the keyframes of a clip: a few milliseconds where every frame takes hundreds
    (one keyframe a 5 s clip, by x264's defaults). Raises MediaError as `read_mp4` does."""
    frames: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream")
            video = container.streams.video[0]
            video.codec_context.skip_frame = "NONKEY"
            fps = float(video.average_rate or video.guessed_rate or 0) or 0.0
            declared = int(video.frames or 0)
            for frame in container.decode(video):
                frames[round(float(frame.time or 0.0) * fps)] = _frame_rgb(frame)
    except MediaError:
        raise
    except (av.FFmpegError, EOFError, ValueError) as exc:
        raise MediaError(f"{path} is corrupt or truncated: {exc}") from exc
    return Keyframes(fps=fps, declared=declared, frames=frames)
