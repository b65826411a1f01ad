"""Photo-like clips with gentle camera motion, encoded and decoded as H.264 with PyAV.

What the durable-provenance tests and bench/provenance.py mark, re-encode and recover.
"""

from __future__ import annotations

import io

import av
import cv2
import numpy as np

from tests.support.samples import SAMPLE_PHOTO, SAMPLES

WIDTH, HEIGHT, FPS, FRAMES = 480, 270, 24, 48  # 2 s


def photo(seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A photo-like RGB image: the sample photo cropped (seed 0) or a synthetic scene."""
    rng = np.random.default_rng(seed)
    if seed % 3 == 0:
        image = cv2.cvtColor(cv2.imread(str(SAMPLE_PHOTO)), cv2.COLOR_BGR2RGB)
        h, w = image.shape[:2]
        top, left = int(rng.integers(0, h // 4)), int(rng.integers(0, w // 4))
        return cv2.resize(image[top:, left:], (width, height), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (ys / height)[..., None]
    image = rng.uniform(0, 255, 3) * (1 - t) + rng.uniform(0, 255, 3) * t
    for _ in range(int(rng.integers(3, 10))):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(8, width / 4)
        image[((xs - cx) ** 2 + (ys - cy) ** 2) < r * r] = rng.uniform(0, 255, 3)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 2)
    image += (texture * rng.uniform(5, 30))[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def animate(image: np.ndarray, count: int = FRAMES, motion: float = 0.04) -> np.ndarray:
    """A slow zoom and pan over the photo, like the procedural generator's camera moves."""
    height, width = image.shape[:2]
    frames = np.empty((count, height, width, 3), np.uint8)
    for i in range(count):
        t = i / max(1, count - 1)
        scale = 1.0 + motion * t
        matrix = np.float32(
            [[scale, 0, -t * motion * width / 2], [0, scale, -t * motion * height / 3]]
        )
        frames[i] = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    return frames


# The suite's encoders run x264 on one thread and without its AVX-512 code: on an AVX-512 CPU
# (Sapphire Rapids, 2026-12-07) libx264 encoded the same frames differently about one run in ten
# even on one thread, and copies whose mark reads at its limit failed tests at random. Without
# AVX-512, 20 encodes in two processes gave one result, at the same speed (65 ms for 48 frames).
DETERMINISTIC_X264 = {
    "threads": "1",
    "x264-params": "asm=MMX2,SSE,SSE2,SSE3,SSSE3,SSE4.1,SSE4.2,LZCNT,AVX,FMA3,BMI1,BMI2,AVX2",
}


def encode(frames: np.ndarray, *, crf: int = 18, size: tuple[int, int] | None = None) -> bytes:
    """H.264 MP4 of `frames` (resized to `size` first), as a re-upload service would make it."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = size or (frames.shape[2], frames.shape[1])
        stream.pix_fmt = "yuv420p"
        # One thread: x264 slices frames differently run to run with several (issue 15 #11).
        stream.options = {"crf": str(crf), "preset": "veryfast", **DETERMINISTIC_X264}
        for frame in frames:
            if size is not None:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    """The RGB frames of an MP4, stacked."""
    with av.open(io.BytesIO(data)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def eval_photo(name: str, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A photo of samples/eval (RGB), cut about its centre to the clip's aspect and resized: the
    textured ones (bike-riders, boats) are where the mark is hardest to place."""
    image = cv2.cvtColor(cv2.imread(str(SAMPLES / "eval" / name)), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    keep_w, keep_h = min(w, round(h * width / height)), min(h, round(w * height / width))
    top, left = (h - keep_h) // 2, (w - keep_w) // 2
    window = image[top : top + keep_h, left : left + keep_w]
    return cv2.resize(window, (width, height), interpolation=cv2.INTER_AREA)


def published_clip(clip_id: int, image: np.ndarray | None = None) -> np.ndarray:
    """A marked 480 x 270, 2 s clip of `image` (the first photo by default) as the platform
    publishes it, decoded."""
    from provenance.watermark import embed_watermark  # the media helpers above need none of it

    frames = animate(photo(0) if image is None else image)
    embed_watermark(frames, clip_id)
    return decode(encode(frames, crf=18))


def remux(data: bytes) -> bytes:
    """Copy the video packets into a fresh MP4: the C2PA manifest (and all metadata) is gone."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, "w", format="mp4") as target:
        video = source.streams.video[0]
        copy = target.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is None:
                continue
            packet.stream = copy
            target.mux(packet)
    return out.getvalue()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of `b` against `a`, in dB: what marking or re-encoding cost."""
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 10 * np.log10(255.0**2 / mse)
