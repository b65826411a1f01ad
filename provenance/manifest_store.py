"""Take the C2PA manifest store out of a signed MP4, so it can be kept apart from the clip.

c2pa-python can read a detached store back (`Reader(..., manifest_data=...)`) but offers no way
to get the embedded one out, so the one top-level box that holds it is located here: an ISO BMFF
`uuid` box with C2PA's user type, whose payload is version/flags, the purpose "manifest", an
8-byte offset, then the JUMBF manifest store (C2PA 2.x, "Embedding manifests into BMFF").
The result is read back through c2pa before it is trusted, so a parsing slip cannot go unseen.

`claim_signature` goes one level deeper, for the verifier: the certificate chain and RFC 3161
tokens in the headers of a manifest's COSE claim signature, which c2pa-python does not expose.
"""

from __future__ import annotations

import io
import json
import pathlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import c2pa  # type: ignore[import-untyped]
import cbor2

from provenance.errors import CorruptMediaError, ProvenanceError
from provenance.media import MP4, top_level_boxes

C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_PURPOSE = b"manifest\x00"
_MAX_STORE_BYTES = 64 << 20
_SCAN_CHUNK = 1 << 20
_COSE_SIGN1_TAG = 18
_X5CHAIN = 33  # COSE header label (RFC 9360)


def extract_manifest_store(path: pathlib.Path) -> tuple[bytes, str]:
    """The signed MP4's manifest store (JUMBF bytes) and its active manifest's label."""
    with open(path, "rb") as handle:
        store = _first_store(handle)
        if store is None:
            raise ProvenanceError(f"{path.name} has no embedded C2PA manifest store")
        handle.seek(0)
        reader = c2pa.Reader.try_create(MP4, handle, store)
        if reader is None:
            raise ProvenanceError(f"{path.name}: its manifest store cannot be read back")
        with reader:
            label = json.loads(reader.json()).get("active_manifest")
    if not label:
        raise ProvenanceError(f"{path.name}: its manifest store has no active manifest")
    return store, str(label)


def sole_embedded_store(stream: BinaryIO) -> bytes | None:
    """The MP4's manifest store when C2PA's box type occurs nowhere outside its box; else None.

    Checked across the whole file, not just its top-level boxes, so that what is parsed here is
    certainly the store a C2PA reader validated: a second, hidden store cannot be. (The store
    itself names the type too, in its BMFF hash exclusions.)
    """
    try:
        found = _first_store_box(stream)
    except CorruptMediaError:
        return None
    if found is None:
        return None
    store, start, end = found
    stream.seek(0)
    if any(not start <= at < end for at in _positions(stream, C2PA_UUID)):
        return None
    return store


def _positions(stream: BinaryIO, needle: bytes) -> Iterator[int]:
    """Offsets of `needle` in the stream, read from its current position in large chunks."""
    base, tail = stream.tell(), b""
    while chunk := stream.read(_SCAN_CHUNK):
        window = tail + chunk
        at = window.find(needle)
        while at >= 0:
            yield base + at
            at = window.find(needle, at + 1)
        # Carry fewer bytes than the needle: a match straddling chunks is found exactly once.
        keep = min(len(needle) - 1, len(window))
        base, tail = base + len(window) - keep, window[-keep:]


def _first_store(handle: BinaryIO) -> bytes | None:
    found = _first_store_box(handle)
    return None if found is None else found[0]


def _first_store_box(handle: BinaryIO) -> tuple[bytes, int, int] | None:
    """The first top-level C2PA manifest box: its store and where the box's payload lies."""
    for kind, start, end in top_level_boxes(handle):
        if kind != b"uuid":
            continue
        handle.seek(start)
        payload = handle.read(min(end - start, _MAX_STORE_BYTES))
        if payload[:16] == C2PA_UUID:
            body = io.BytesIO(payload[16 + 4 :])  # user type, then version and flags
            if body.read(len(_PURPOSE)) == _PURPOSE:
                body.read(8)  # offset of the Merkle data, unused for a plain store
                return body.read(), start, end
    return None


def active_manifest_label(store: bytes) -> str:
    """The label of the store's active manifest: the last one in the store (C2PA 2.x, 11.1)."""
    _, start, end = _store_box(store)
    labels = [label for label, _, _ in _superboxes(store, start, end)]
    if not labels or not labels[-1]:
        raise ValueError("the manifest store holds no labelled manifest")
    return labels[-1]


@dataclass(frozen=True)
class ClaimSignature:
    """What a manifest's COSE claim signature carries besides the signature itself."""

    certificates: list[bytes]  # DER x5chain: the claim signer first, then intermediates
    time_stamp_tokens: list[bytes]  # DER RFC 3161 tokens (sigTst2, else sigTst)


def claim_signature(store: bytes, label: str) -> ClaimSignature:
    """The certificate chain and time-stamp tokens on manifest `label`'s claim signature.

    Raises ValueError or TypeError when the store is not shaped as C2PA says (the caller then
    falls back to the library's own judgement).
    """
    _, start, end = _store_box(store)
    matches = [m for m in _superboxes(store, start, end) if m[0] == label]
    if len(matches) != 1:
        raise ValueError(f"manifest {label!r} found {len(matches)} times")
    _, m_start, m_end = matches[0]
    signatures = [s for s in _superboxes(store, m_start, m_end) if s[0] == "c2pa.signature"]
    if len(signatures) != 1:
        raise ValueError("expected one claim signature")
    _, s_start, s_end = signatures[0]
    cbor = [box for box in _children(store, s_start, s_end) if box[0] == b"cbor"]
    if len(cbor) != 1:
        raise ValueError("the claim signature has no CBOR body")
    _, c_start, c_end = cbor[0]
    cose = _cbor_whole(store[c_start:c_end])
    if not (
        isinstance(cose, cbor2.CBORTag)
        and cose.tag == _COSE_SIGN1_TAG
        and isinstance(cose.value, list | tuple)
        and len(cose.value) == 4
        and isinstance(cose.value[0], bytes)
        and isinstance(cose.value[1], Mapping)
    ):
        raise TypeError("the claim signature is not a tagged COSE_Sign1 with header maps")
    protected = _cbor_whole(cose.value[0]) if cose.value[0] else {}
    unprotected = cose.value[1]
    if not isinstance(protected, Mapping):
        raise TypeError("malformed COSE protected header")
    # x5chain belongs in the signed (protected) header; C2PA 1.x also allowed the unprotected one.
    chain = protected.get(_X5CHAIN, unprotected.get(_X5CHAIN))
    chain = [chain] if isinstance(chain, bytes) else chain
    if (
        not isinstance(chain, list | tuple)
        or not chain
        or not all(isinstance(c, bytes) for c in chain)
    ):
        raise TypeError("the claim signature has no x5chain")
    stamps = unprotected.get("sigTst2", unprotected.get("sigTst"))
    tokens = stamps.get("tstTokens") if isinstance(stamps, Mapping) else stamps
    tokens = [] if tokens is None else tokens
    if not isinstance(tokens, list | tuple) or not all(
        isinstance(t, Mapping) and isinstance(t.get("val"), bytes) for t in tokens
    ):
        raise TypeError("malformed tstTokens")
    return ClaimSignature(certificates=list(chain), time_stamp_tokens=[t["val"] for t in tokens])


def _store_box(store: bytes) -> tuple[bytes, int, int]:
    manifests = [box for box in _children(store, 0, len(store)) if box[0] == b"jumb"]
    if len(manifests) != 1:
        raise ValueError("expected one top-level manifest store box")
    return manifests[0]


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the JUMBF boxes in data[start:end]."""
    offset = start
    while offset < end:
        if offset + 8 > end:
            raise ValueError("truncated JUMBF box header")
        size, kind, head = (
            int.from_bytes(data[offset : offset + 4], "big"),
            data[offset + 4 : offset + 8],
            8,
        )
        if size == 1:
            size, head = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        elif size == 0:
            size = end - offset
        if size < head or offset + size > end:
            raise ValueError("JUMBF box overruns its parent")
        yield kind, offset + head, offset + size
        offset += size


def _superboxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(label, start, end) of the JUMBF superboxes directly inside data[start:end]."""
    for kind, s_start, s_end in _children(data, start, end):
        if kind != b"jumb":
            continue
        first = next(_children(data, s_start, s_end), None)
        if first is None or first[0] != b"jumd":
            raise ValueError("JUMBF superbox without a description box")
        _, d_start, d_end = first
        toggles = data[d_start + 16] if d_start + 16 < d_end else 0
        label = ""
        if toggles & 0x02:  # the label is present, null-terminated after the type and toggles
            terminator = data.find(b"\x00", d_start + 17, d_end)
            if terminator < 0:
                raise ValueError("unterminated JUMBF label")
            label = data[d_start + 17 : terminator].decode("utf-8")
        yield label, s_start, s_end


def _cbor_whole(data: bytes) -> Any:
    """One CBOR item that fills `data` exactly (trailing bytes are refused)."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, RecursionError) as exc:
        raise ValueError(f"malformed CBOR: {exc}") from exc
    if stream.tell() != len(data):
        raise ValueError("trailing bytes after a CBOR item")
    return item
