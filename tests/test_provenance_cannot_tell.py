"""Clips too short, too small, blank or still to read: each verify says it cannot tell and why,
and never matches them to a registered clip (issue 14, bad input).

The registry runs on SQLite only here: what is measured is the media, and the registry's lookups
are exercised on both backends by tests/test_provenance_reupload.py.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from provenance.authority import Authority
from provenance.repository import ManifestRepository
from provenance.verify import verify_bytes
from tests.support.photo_clips import animate, decode, encode, photo
from tests.support.signed_media import publish_clip


@pytest.fixture
def audit_url(tmp_path: pathlib.Path) -> str:
    """SQLite only (see the module's docstring)."""
    return f"sqlite:///{tmp_path / 'audit.db'}"


def test_a_short_tiny_clip_says_why_it_cannot_tell(
    repository: ManifestRepository, authority: Authority
) -> None:
    tiny = encode(animate(photo(5, 144, 80), count=12), crf=23)
    report = verify_bytes(tiny, authority.trust_anchors(), repository=repository)
    assert report.status == "no_manifest"
    assert "Cannot tell" in report.message and "0.5 s" in report.message
    assert "80 pixels" in report.message


@pytest.fixture
def registered(
    repository: ManifestRepository,
    authority: Authority,
    photo_path: pathlib.Path,
    tmp_path: pathlib.Path,
) -> int:
    """One published clip in the registry, so a wrong match would have somewhere to go."""
    clip_id, _, _ = publish_clip(
        repository, authority, photo_path, tmp_path, "job-bad-input", animate(photo(3))
    )
    return clip_id


def _cannot_tell(copy: bytes, repository: ManifestRepository, authority: Authority) -> str:
    """The message of a verify that must find nothing and say why it cannot tell."""
    report = verify_bytes(copy, authority.trust_anchors(), repository=repository)
    assert report.status == "no_manifest" and report.clip_id is None and report.job_id is None
    assert "Cannot tell whether it was ours" in report.message
    return report.message


@pytest.mark.parametrize("level", [0, 255], ids=["all black", "all white"])
def test_an_all_black_or_all_white_clip_cannot_tell_and_says_it_is_blank(
    registered: int, repository: ManifestRepository, authority: Authority, level: int
) -> None:
    blank = encode(np.full((48, 360, 640, 3), level, np.uint8), crf=23)
    assert "the picture is blank" in _cannot_tell(blank, repository, authority)


def test_a_clip_under_a_second_cannot_tell_and_says_how_long_it_is(
    registered: int, repository: ManifestRepository, authority: Authority
) -> None:
    short = encode(animate(photo(5, 640, 360), count=12), crf=23)
    message = _cannot_tell(short, repository, authority)
    assert "only 0.5 s long" in message and "pixels" not in message


def test_a_tiny_clip_cannot_tell_and_says_how_small_it_is(
    registered: int, repository: ManifestRepository, authority: Authority
) -> None:
    tiny = encode(animate(photo(5, 256, 144)), crf=23)
    message = _cannot_tell(tiny, repository, authority)
    assert "only 144 pixels high" in message and " s long" not in message


def test_an_unmarked_still_image_clip_cannot_tell_and_says_it_never_moves(
    registered: int, repository: ManifestRepository, authority: Authority
) -> None:
    still = encode(np.repeat(animate(photo(5, 640, 360), count=1), 48, axis=0), crf=23)
    assert "still image" in _cannot_tell(still, repository, authority)


def test_a_marked_still_image_clip_is_still_recovered(
    registered: int, repository: ManifestRepository, authority: Authority, tmp_path: pathlib.Path
) -> None:
    """The still-image limit is said only when nothing is found: a still of ours reads."""
    signed = next(tmp_path.glob("job-bad-input-signed.mp4"))
    still = encode(np.repeat(decode(signed.read_bytes())[:1], 48, axis=0), crf=23)
    report = verify_bytes(still, authority.trust_anchors(), repository=repository)
    assert report.status == "recovered" and report.clip_id == registered
