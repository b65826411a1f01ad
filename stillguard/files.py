"""Writing files so that readers never see half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(path: Path, *, mode: int = 0o600) -> Iterator[Path]:
    """A temp path beside `path` to write; renamed over `path` only if the block succeeds.

    A crash leaves the old file or the new one, never a partial file. The file gets `mode`
    (owner-only by default: files under HOME are the owner's).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> Path:
    """Write bytes so that `path` is either the old file or the whole new one."""
    with replaced_atomically(path, mode=mode) as tmp:
        tmp.write_bytes(data)
    return path


def copy_atomically(source: Path, destination: Path) -> Path:
    """Copy a file (e.g. a signed clip to the user's `--out`) without ever leaving a partial one."""
    with replaced_atomically(destination, mode=0o644) as tmp:
        shutil.copyfile(source, tmp)
    return destination
