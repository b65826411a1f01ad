"""Take the C2PA manifest store out of a signed MP4, so it can be kept apart from the clip.

c2pa-python can read a detached store back (`Reader(..., manifest_data=...)`) but offers no way
to get the embedded one out, so the one top-level box that holds it is located here: an ISO BMFF
`uuid` box with C2PA's user type, whose payload is version/flags, the purpose "manifest", an
8-byte offset, then the JUMBF manifest store (C2PA 2.x, "Embedding manifests into BMFF").
The result is read back through c2pa before it is trusted, so a parsing slip cannot go unseen.
"""

from __future__ import annotations

import io
import json
import pathlib

import c2pa  # type: ignore[import-untyped]

from provenance.errors import ProvenanceError
from provenance.media import MP4

C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_PURPOSE = b"manifest\x00"


def extract_manifest_store(path: pathlib.Path) -> tuple[bytes, str]:
    """The signed MP4's manifest store (JUMBF bytes) and its active manifest's label."""
    store = _find_store(path)
    with open(path, "rb") as handle:
        reader = c2pa.Reader.try_create(MP4, handle, store)
        if reader is None:
            raise ProvenanceError(f"{path.name}: its manifest store cannot be read back")
        with reader:
            label = json.loads(reader.json()).get("active_manifest")
    if not label:
        raise ProvenanceError(f"{path.name}: its manifest store has no active manifest")
    return store, str(label)


def _find_store(path: pathlib.Path) -> bytes:
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box_size, kind, head = int.from_bytes(header[:4], "big"), header[4:8], 8
            if box_size == 1:
                box_size, head = int.from_bytes(header[8:16], "big"), 16
            elif box_size == 0:
                box_size = size - offset
            if box_size < head:
                break
            if kind == b"uuid":
                handle.seek(offset + head)
                payload = handle.read(min(box_size - head, 64 << 20))
                if payload[:16] == C2PA_UUID:
                    body = io.BytesIO(payload[16 + 4 :])  # user type, then version and flags
                    if body.read(len(_PURPOSE)) == _PURPOSE:
                        body.read(8)  # offset of the Merkle data, unused for a plain store
                        return body.read()
            offset += box_size
    raise ProvenanceError(f"{path.name} has no embedded C2PA manifest store")
