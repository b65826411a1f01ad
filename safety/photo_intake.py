"""Photo intake: turn uploaded bytes into a safe-to-process RGB image, or a clear, typed refusal.

Everything that can go wrong with an upload is decided here, before any classifier or generator
sees pixels: empty bodies, things that are not images, images whose header promises more pixels
than we are willing to decode (decompression bombs), truncated or corrupt files, and odd pixel
formats (CMYK, grayscale, 16-bit, palette, alpha) that other stages should not have to handle.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal, get_args

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000

# Formats we accept, as Pillow names them, and the MIME type we report for each.
ACCEPTED_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}

# Magic numbers of things people upload by mistake, named so the message says what we saw.
_KNOWN_NON_IMAGES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "a PDF document"),
    (b"ftyp", 4, "an MP4/MOV video"),
    (b"\x1a\x45\xdf\xa3", 0, "a WebM/Matroska video"),
    (b"PK\x03\x04", 0, "a ZIP archive or office document"),
    (b"RIFF", 0, "a RIFF file (WAV/AVI)"),
    (b"ID3", 0, "an MP3 audio file"),
)
_IMAGE_MAGIC: tuple[tuple[bytes, int], ...] = (
    (b"\xff\xd8\xff", 0),
    (b"\x89PNG\r\n\x1a\n", 0),
    (b"GIF87a", 0),
    (b"GIF89a", 0),
    (b"WEBP", 8),
)

BadImageCode = Literal["empty_image", "corrupt_image", "unsupported_media_type", "image_too_large"]
BAD_IMAGE_CODES: frozenset[str] = frozenset(get_args(BadImageCode))


class BadImageError(ValueError):
    """An upload we refuse to process; `code` says why, for callers to map onto their errors."""

    def __init__(self, code: BadImageCode, message: str) -> None:
        if code not in BAD_IMAGE_CODES:
            raise ValueError(f"unknown bad-image code {code!r}")
        super().__init__(message)
        self.code: BadImageCode = code
        self.message = message


def _describe_non_image(data: bytes) -> str:
    """Best-effort name of what an unidentifiable upload looks like, for the error message."""
    for magic, offset, name in _KNOWN_NON_IMAGES:
        if data[offset : offset + len(magic)] == magic:
            return name
    head = data[:512]
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "an unrecognised binary file"


def _looks_like_image(data: bytes) -> bool:
    return any(data[off : off + len(magic)] == magic for magic, off in _IMAGE_MAGIC)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any decoded mode to 8-bit RGB without clipping 16-bit data or leaking alpha."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow's convert("RGB") clips 16-bit values at 255 (an all-white image): rescale.
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        gray = np.clip(array * (255.0 / peak), 0, 255).round().astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        gray = np.clip(array * (255.0 / top), 0, 255).round().astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        # Flatten onto white, as a viewer shows it: what we moderate is what people see.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # CMYK, YCbCr, L, 1, LAB, HSV


def load_photo(data: bytes, *, max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, str]:
    """Decode an uploaded photo into an upright RGB image and its MIME type, or raise BadImageError.

    The size check uses the dimensions in the file header, before any pixel is decoded, so a
    small file that claims a huge image costs nothing. Animated GIFs yield their first frame;
    `image.info["frames"]` then says how many frames the upload had.
    """
    if not data:
        raise BadImageError("empty_image", "The upload is empty: attach a JPEG, PNG, WebP or GIF.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadImageError(
            "image_too_large",
            f"The image is too large ({error}); the limit is {max_pixels:,} pixels.",
        ) from error
    except UnidentifiedImageError as error:
        if _looks_like_image(data):
            raise BadImageError(
                "corrupt_image",
                "The image header is damaged and cannot be read: re-export or re-upload the file.",
            ) from error
        raise BadImageError(
            "unsupported_media_type",
            f"The upload looks like {_describe_non_image(data)}, not an image: "
            "attach a JPEG, PNG, WebP or GIF.",
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(
            "corrupt_image", f"The image cannot be read ({error}): re-export or re-upload it."
        ) from error

    fmt = image.format or ""
    if fmt not in ACCEPTED_FORMATS:
        raise BadImageError(
            "unsupported_media_type",
            f"{fmt or 'This'} images are not accepted: convert it to JPEG, PNG, WebP or GIF.",
        )
    width, height = image.size
    if width <= 0 or height <= 0:
        raise BadImageError("corrupt_image", "The image header declares zero width or height.")
    if width * height > max_pixels:
        raise BadImageError(
            "image_too_large",
            f"The image is {width}x{height} ({width * height:,} pixels); the limit is "
            f"{max_pixels:,} pixels: downscale it and upload again.",
        )
    frames = int(getattr(image, "n_frames", 1) or 1)
    try:
        image.seek(0)
        image.load()  # the first (or only) frame; truncated data raises here
        upright = ImageOps.exif_transpose(image) or image
        rgb = _to_rgb(upright)
        rgb.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise BadImageError(
            "corrupt_image",
            f"The image data is truncated or corrupt ({error}): re-export or re-upload the file.",
        ) from error
    if rgb is image:
        rgb = image.copy()  # detach from the BytesIO-backed file object
    rgb.info["frames"] = frames
    rgb.info["source_format"] = fmt
    return rgb, ACCEPTED_FORMATS[fmt]
