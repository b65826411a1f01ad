"""Atomic file replacement: the target holds the old bytes or the new ones, never a mixture."""

from __future__ import annotations

import pathlib
import stat

import pytest

from provenance.atomic import atomic_file, write_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "authority.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="interrupted"), atomic_file(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["authority.json"]


def test_a_completed_write_replaces_the_file_with_the_given_mode(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "root.cert.pem"
    target.write_bytes(b"old")
    write_atomic(target, b"new", mode=0o644)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["root.cert.pem"]


def test_the_block_can_read_back_what_it_wrote_before_publishing(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "clip.mp4"
    with atomic_file(target) as handle:
        handle.write(b"signed bytes")
        handle.seek(0)
        assert handle.read() == b"signed bytes"
        assert not target.exists()
    assert target.read_bytes() == b"signed bytes"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
