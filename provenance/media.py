"""Media type detection from magic bytes: the extension of a file is never trusted."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import BinaryIO

from provenance.errors import CorruptMediaError, UnsupportedMediaError

MP4 = "video/mp4"
JPEG = "image/jpeg"
PNG = "image/png"

_SNIFF_BYTES = 16


def sniff_bytes(head: bytes) -> str:
    """Return the MIME type of media whose first bytes are `head`, or raise UnsupportedMediaError."""
    if not head:
        raise UnsupportedMediaError("the file is empty (0 bytes); upload an MP4, JPEG or PNG file")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    # ISO BMFF: a 4-byte box size, then the 'ftyp' box type.
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return MP4
    raise UnsupportedMediaError(
        "the file is not an MP4 video, JPEG or PNG image (its first bytes match none of them)"
    )


def sniff_stream(stream: BinaryIO) -> str:
    """Sniff the type of a seekable stream and rewind it."""
    position = stream.tell()
    head = stream.read(_SNIFF_BYTES)
    stream.seek(position)
    return sniff_bytes(head)


def sniff_path(path: pathlib.Path) -> str:
    """Sniff the type of the file at `path`."""
    with open(path, "rb") as handle:
        return sniff_bytes(handle.read(_SNIFF_BYTES))


def top_level_boxes(handle: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, end) of each top-level ISO BMFF box in a seekable binary file.

    Raises CorruptMediaError when a box header is cut short or a box overruns the file.
    """
    size = handle.seek(0, 2)
    offset = 0
    while offset < size:
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            raise CorruptMediaError("the file ends inside an MP4 box header (truncated?)")
        box_size, kind, head = int.from_bytes(header[:4], "big"), header[4:8], 8
        if box_size == 1 and len(header) == 16:
            box_size, head = int.from_bytes(header[8:16], "big"), 16
        elif box_size == 0:
            box_size = size - offset  # the last box runs to the end of the file
        if box_size < head or offset + box_size > size:
            raise CorruptMediaError(
                f"the file is truncated or corrupt: its {kind.decode('latin-1')!r} box "
                f"overruns the file ({offset + box_size} > {size} bytes)"
            )
        yield kind, offset + head, offset + box_size
        offset += box_size


def check_mp4_structure(path: pathlib.Path) -> None:
    """Refuse an MP4 whose top-level boxes overrun the file or lack moov/mdat (e.g. truncated)."""
    with open(path, "rb") as handle:
        try:
            seen = {kind for kind, _, _ in top_level_boxes(handle)}
        except CorruptMediaError as error:
            raise CorruptMediaError(f"{path.name}: {error}") from error
    missing = {b"moov", b"mdat"} - seen
    if missing:
        names = ", ".join(sorted(m.decode() for m in missing))
        raise CorruptMediaError(f"{path.name} is not a complete MP4: no {names} box")
