"""A property-based fuzz of `verify` over mutated signed clips (issue 15): a changed media byte
is never `valid`, no mutation crashes it, and none takes longer than a time limit.

The budget is small in the suite; raise it for a release check with
`STILLGUARD_FUZZ_EXAMPLES=200` (see the README's testing section).
"""

from __future__ import annotations

import pathlib
import time

from hypothesis import given
from hypothesis import strategies as st

from provenance.authority import Authority
from provenance.errors import ProvenanceError
from provenance.verify import verify_bytes
from tests.hostile.budget import EXAMPLES, fuzz_settings
from tests.support import signed_media as support

# Session fixtures shared with the provenance tests (pytest finds them as module attributes).
provenance_dir, authority = support.provenance_dir, support.authority
clip_path, photo_path, signed_clip = support.clip_path, support.photo_path, support.signed_clip

TIME_LIMIT_S = 10.0
STATUSES = {
    "valid",
    "tampered",
    "untrusted",
    "no_manifest",
    "recovered",
    "related",
    "remote_manifest",
}
FUZZ = fuzz_settings(EXAMPLES * 5)


def _mdat(data: bytes) -> tuple[int, int]:
    """(start, end) of the payload of the top-level `mdat` box: the coded media."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        if data[offset + 4 : offset + 8] == b"mdat":
            return offset + header, offset + size
        offset += size
    raise AssertionError("no mdat box")


def _verify_in_time(data: bytes, anchors) -> str | None:
    """The report's status (None when refused as unreadable), within the time limit."""
    started = time.monotonic()
    try:
        status = verify_bytes(data, anchors).status
    except ProvenanceError:
        status = None  # a clear refusal (corrupt or unsupported media) is an answer, not a crash
    assert time.monotonic() - started < TIME_LIMIT_S
    assert status is None or status in STATUSES
    return status


def test_a_changed_media_byte_is_never_valid(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    original = signed_clip.read_bytes()
    start, end = _mdat(original)
    anchors = authority.trust_anchors()

    @given(
        where=st.integers(start, end - 1),
        flip=st.integers(1, 255),
        extra=st.lists(st.tuples(st.integers(start, end - 1), st.integers(1, 255)), max_size=3),
    )
    @FUZZ
    def never_valid(where: int, flip: int, extra: list[tuple[int, int]]) -> None:
        data = bytearray(original)
        for offset, mask in [(where, flip), *extra]:
            data[offset] ^= mask
        assert _verify_in_time(bytes(data), anchors) != "valid"

    never_valid()


def test_no_mutation_of_a_signed_clip_crashes_verify(
    signed_clip: pathlib.Path, authority: Authority
) -> None:
    original = signed_clip.read_bytes()
    anchors = authority.trust_anchors()

    @given(
        edits=st.lists(
            st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)), min_size=1
        ),
        cut=st.one_of(st.none(), st.integers(0, len(original))),
        insert=st.binary(max_size=64),
    )
    @FUZZ
    def answers(edits: list[tuple[int, int]], cut: int | None, insert: bytes) -> None:
        data = bytearray(original)
        for offset, mask in edits:
            data[offset] ^= mask
        if cut is not None:
            data = data[:cut] + insert + data[cut:] if insert else data[:cut]
        _verify_in_time(bytes(data), anchors)

    answers()
