"""Hostile files for the corpus, built in code at test time (nothing binary is kept in git).

Every builder is deterministic; `hostile_media` makes each file once per session. Bombs are tiny
files that declare (or decode to) far more pixels, frames or seconds than any limit allows.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from functools import cache

import numpy as np
from PIL import Image

from tests.support.journey import giant_png_header
from tests.support.media_bombs import black_mp4


def _image(fmt: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose start-of-frame header is patched to claim width x height."""
    data = bytearray(_image("JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_declaring(width: int, height: int) -> bytes:
    """A real small GIF whose logical screen and image descriptor claim width x height."""
    data = bytearray(_image("GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    descriptor = data.find(b"\x2c\x00\x00\x00\x00")
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def _png_with_bad_crc() -> bytes:
    data = bytearray(_image("PNG"))
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    return bytes(data)


def _png_zlib_bomb() -> bytes:
    """A 4000 x 4000 PNG (16 Mpx, under the pixel limit) of zeros: ~50 KB deflating to 48 MB."""
    rows = b"".join(b"\0" + b"\0" * 4000 * 3 for _ in range(4000))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", 4000, 4000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _mp4_declaring(width: int, height: int) -> bytes:
    """A tiny valid clip whose track header (tkhd) claims width x height."""
    data = bytearray(_small_mp4())
    tkhd = data.find(b"tkhd")
    # version-0 tkhd: width and height are the last 8 bytes of the 84-byte payload (16.16 fixed).
    end = tkhd + 4 + 84
    data[end - 8 : end] = struct.pack(">II", width << 16, height << 16)
    return bytes(data)


@cache
def _small_mp4() -> bytes:
    return black_mp4(8, 192, 108, fps=8)


def _random(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


BUILDERS: dict[str, Callable[[], bytes]] = {
    # valid media, the base of the truncations
    "png": lambda: _image("PNG"),
    "jpeg": lambda: _image("JPEG"),
    "gif": lambda: _image("GIF"),
    "webp": lambda: _image("WEBP"),
    "mp4": _small_mp4,
    # image bombs: huge declared dimensions, tiny files
    "png_bomb_48mpx": lambda: giant_png_header(8000, 6000),
    "png_bomb_4gpx": lambda: giant_png_header(65535, 65535),
    "png_bomb_wide": lambda: giant_png_header(2**31 - 1, 1),
    "png_zlib_bomb": _png_zlib_bomb,
    "jpeg_bomb": lambda: _jpeg_declaring(65500, 65500),
    "jpeg_bomb_strip": lambda: _jpeg_declaring(65535, 1000),
    "gif_bomb": lambda: _gif_declaring(65535, 65535),
    # MP4 bombs: many 1080p frames, a long duration, a huge declared frame
    "mp4_bomb_frames": lambda: black_mp4(120),
    "mp4_bomb_duration": lambda: black_mp4(400, 64, 64, fps=1),
    "mp4_bomb_declared": lambda: _mp4_declaring(30000, 30000),
    # truncations
    "png_magic_only": lambda: _image("PNG")[:8],
    "png_header_only": lambda: _image("PNG")[:33],
    "png_half": lambda: _image("PNG")[: len(_image("PNG")) // 2],
    "png_bad_crc": _png_with_bad_crc,
    "jpeg_soi_only": lambda: b"\xff\xd8",
    "jpeg_20": lambda: _image("JPEG")[:20],
    "jpeg_half": lambda: _image("JPEG")[: len(_image("JPEG")) // 2],
    "gif_header_only": lambda: b"GIF89a",
    "webp_riff_only": lambda: _image("WEBP")[:12],
    "mp4_ftyp_only": lambda: _small_mp4()[:32],
    "mp4_600": lambda: _small_mp4()[:600],
    "mp4_half": lambda: _small_mp4()[: len(_small_mp4()) // 2],
    "mp4_no_mdat": lambda: _small_mp4()[: _small_mp4().find(b"mdat") - 4],
    # wrong types
    "empty": lambda: b"",
    "one_byte": lambda: b"\0",
    "pdf": lambda: b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    "zip": lambda: b"PK\x03\x04" + b"\0" * 26,
    "html": lambda: b"<!doctype html><script>alert(1)</script>",
    "svg": lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>',
    "elf": lambda: b"\x7fELF\x02\x01\x01" + b"\0" * 57,
    "tiff": lambda: _image("TIFF"),
    "bmp": lambda: _image("BMP"),
    "random_4k": lambda: _random(4096, 1),
    "nul_4k": lambda: b"\0" * 4096,
    "ftyp_garbage": lambda: b"\0\0\0\x18ftypisom" + _random(512, 2),
    "utf16_text": lambda: "hello \u0000 world".encode("utf-16"),
    "png_then_zip": lambda: _image("PNG") + b"PK\x03\x04" + b"\0" * 26,
}


@cache
def hostile_media(name: str) -> bytes:
    """The hostile file called `name`, built once per session."""
    return BUILDERS[name]()
