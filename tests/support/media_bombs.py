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
