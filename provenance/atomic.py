"""Files that appear whole or not at all: written beside their target, then renamed over it.

The one owner of this rule in Stillguard: keys and signed clips here, and blobs, uploaded packs,
encoded clips and `--out` copies in the service, all go through it.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


@contextlib.contextmanager
def atomic_path(path: pathlib.Path, *, mode: int = 0o600) -> Iterator[pathlib.Path]:
    """A temp path beside `path` (same suffix) that replaces it only if the block completes.

    For writers that want a path (an encoder, a copy). The bytes are fsynced before the rename,
    so readers and crashes see the old file or the whole new one; on any error the temp file is
    removed and `path` is left as it was. Parents are created; the file gets `mode`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = pathlib.Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_file(path: pathlib.Path, *, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A read-write temp file beside `path` that replaces it only if the block completes."""
    with atomic_path(path, mode=mode) as tmp, open(tmp, "w+b") as handle:
        yield handle


def write_atomic(path: pathlib.Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` all at once (see `atomic_path`)."""
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)


def copy_atomic(source: pathlib.Path, destination: pathlib.Path, *, mode: int = 0o644) -> None:
    """Copy a file so that `destination` is absent, the old file, or the whole copy."""
    with atomic_path(destination, mode=mode) as tmp:
        shutil.copyfile(source, tmp)
