"""Decompression bombs for the media limits: tiny files that decode to gigabytes of pixels."""

from __future__ import annotations

import io

import av
import numpy as np


def black_mp4(frames: int, width: int = 1920, height: int = 1080, fps: int = 24) -> bytes:
    """An H.264 MP4 of `frames` black frames: a few KB that decode to frames x width x height x 3."""
    buffer = io.BytesIO()
    black = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "threads": "1"}
        for index in range(frames):
            black.pts = index
            container.mux(video.encode(black))
        container.mux(video.encode())
    return buffer.getvalue()


def long_silence_mp4(
    video_frames: int = 8, audio_seconds: float = 600.0, channels: int = 2
) -> bytes:
    """A few tiny frames of video under a long silent AAC track: the sound decodes to
    audio_seconds x 48,000 x channels float samples while the pictures last a second."""
    buffer = io.BytesIO()
    black = av.VideoFrame.from_ndarray(np.zeros((108, 192, 3), np.uint8), format="rgb24")
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=8)
        video.width, video.height, video.pix_fmt = 192, 108, "yuv420p"
        video.options = {"preset": "ultrafast", "threads": "1"}
        audio = container.add_stream("aac", rate=48000, layout=layout)
        for index in range(video_frames):
            black.pts = index
            container.mux(video.encode(black))
        container.mux(video.encode())
        block = 1024
        silence = np.zeros((1, block * channels), np.float32)  # packed (interleaved) samples
        for start in range(0, int(audio_seconds * 48000), block):
            frame = av.AudioFrame.from_ndarray(silence, format="flt", layout=layout)
            frame.sample_rate, frame.pts = 48000, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return buffer.getvalue()
