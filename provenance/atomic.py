"""Files that appear whole or not at all: written beside their target, then renamed over it."""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


@contextlib.contextmanager
def atomic_file(path: pathlib.Path, *, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A read-write temp file beside `path` that replaces it only if the block completes.

    The bytes are fsynced before the rename, so readers and crashes see the old file or the
    whole new one; on any error the temp file is removed and `path` is left as it was.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: pathlib.Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` all at once (see `atomic_file`)."""
    with atomic_file(path, mode=mode) as handle:
        handle.write(data)
