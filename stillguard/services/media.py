"""Domain media errors in the service's words: one translation, used by every service."""

from __future__ import annotations

from PIL import Image

from safety.photo_intake import BadImageError, load_photo

from ..errors import CorruptMedia, InvalidInput, PayloadTooLarge, UnsupportedMedia

_ERROR_FOR_IMAGE_CODE: dict[str, type[InvalidInput]] = {
    "empty_image": InvalidInput,
    "corrupt_image": InvalidInput,
    "unsupported_media_type": UnsupportedMedia,
    "image_too_large": PayloadTooLarge,
}


def checked_photo(data: bytes) -> tuple[Image.Image, str]:
    """Decode an uploaded photo (type by magic bytes, pixel count before decoding) or refuse it."""
    try:
        return load_photo(data)
    except BadImageError as exc:
        kind = _ERROR_FOR_IMAGE_CODE.get(exc.code, CorruptMedia)
        raise kind(exc.code, str(exc)) from exc
