"""Photo intake: every bad upload gets a typed, actionable refusal; odd formats become RGB."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from safety.photo_intake import BAD_IMAGE_CODES, MAX_PIXELS, BadImageError, load_photo

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "falcon9-dscovr-launch.jpg"


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _refusal(data: bytes, **kwargs: int) -> BadImageError:
    with pytest.raises(BadImageError) as caught:
        load_photo(data, **kwargs)
    return caught.value


def test_sample_photo_loads_as_rgb_jpeg() -> None:
    image, mime = load_photo(SAMPLE.read_bytes())
    assert mime == "image/jpeg" and image.mode == "RGB" and image.size == (640, 427)


def test_empty_upload_is_refused_as_empty_image() -> None:
    error = _refusal(b"")
    assert error.code == "empty_image"
    assert "empty" in str(error)


def test_random_bytes_are_not_an_image() -> None:
    error = _refusal(np.random.default_rng(1).bytes(4096))
    assert error.code == "unsupported_media_type"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"just some notes\nnot a photo\n", "text"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64, "MP4"),
    ],
)
def test_documents_and_videos_are_unsupported_media(data: bytes, named: str) -> None:
    error = _refusal(data)
    assert error.code == "unsupported_media_type"
    assert named in str(error)


def test_truncated_jpeg_is_corrupt() -> None:
    data = SAMPLE.read_bytes()
    error = _refusal(data[: len(data) // 2])
    assert error.code == "corrupt_image"


def test_jpeg_with_a_damaged_header_is_corrupt() -> None:
    error = _refusal(b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    assert error.code == "corrupt_image"


def test_png_claiming_50_megapixels_is_refused_from_its_header() -> None:
    # 10000 x 5000 declared, but the IDAT holds a few hundred bytes: decoding would fail, so
    # image_too_large (not corrupt_image) proves the dimensions were checked before any pixel
    # was decoded.
    header = struct.pack(">IIBBBBB", 10_000, 5_000, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 300))
        + _png_chunk(b"IEND", b"")
    )
    assert len(png) < 1000
    error = _refusal(png)
    assert error.code == "image_too_large"
    assert "50,000,000" in str(error) and f"{MAX_PIXELS:,}" in str(error)


def test_max_pixels_is_configurable() -> None:
    error = _refusal(SAMPLE.read_bytes(), max_pixels=100_000)
    assert error.code == "image_too_large"


def test_cmyk_jpeg_becomes_rgb() -> None:
    data = _encode(Image.new("CMYK", (32, 24), (0, 255, 0, 0)), "JPEG")
    image, mime = load_photo(data)
    assert mime == "image/jpeg" and image.mode == "RGB"
    r, g, b = image.getpixel((16, 12))
    assert r > 200 and g < 60 and b > 200  # magenta survives the conversion


def test_16_bit_png_is_rescaled_not_clipped() -> None:
    ramp = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    image, mime = load_photo(_encode(Image.fromarray(ramp), "PNG"))
    assert mime == "image/png" and image.mode == "RGB"
    pixels = np.asarray(image)
    assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255
    assert 100 < pixels[24, 32, 0] < 160  # mid-grey stays mid-grey (Pillow alone gives 255)


def test_grayscale_jpeg_becomes_rgb() -> None:
    image, _ = load_photo(_encode(Image.new("L", (20, 10), 90), "JPEG"))
    assert image.mode == "RGB" and image.getpixel((5, 5))[0] == pytest.approx(90, abs=2)


def test_transparent_png_is_flattened_onto_white() -> None:
    image, _ = load_photo(_encode(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), "PNG"))
    assert image.getpixel((4, 4)) == (255, 255, 255)


def test_animated_gif_yields_its_first_frame_and_says_so() -> None:
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image, mime = load_photo(data)
    assert mime == "image/gif" and image.mode == "RGB"
    assert image.info["frames"] == 2
    r, _, b = image.getpixel((8, 8))
    assert r > 200 and b < 50


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image, _ = load_photo(_encode(Image.new("RGB", (40, 20), "green"), "JPEG", exif=exif))
    assert image.size == (20, 40)


def test_webp_is_accepted_and_bmp_is_not() -> None:
    _, mime = load_photo(_encode(Image.new("RGB", (8, 8)), "WEBP"))
    assert mime == "image/webp"
    error = _refusal(_encode(Image.new("RGB", (8, 8)), "BMP"))
    assert error.code == "unsupported_media_type" and "BMP" in str(error)


def test_bad_image_error_accepts_only_known_codes() -> None:
    assert BAD_IMAGE_CODES == {
        "empty_image",
        "corrupt_image",
        "unsupported_media_type",
        "image_too_large",
    }
    with pytest.raises(ValueError, match="unknown bad-image code"):
        BadImageError("too_blue", "not a refusal we know")  # type: ignore[arg-type]
