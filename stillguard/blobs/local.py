"""The local blob store: files under HOME/blobs, written atomically (embedded mode, one machine)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from provenance.atomic import atomic_path, copy_atomic, write_atomic

from .base import LocalFile, Served
from .refs import INTERMEDIATES, BlobError, BlobUnavailable, blob_ref, checked_ref, is_job_id


class LocalBlobStore:
    """Files under a folder addressed by validated references like `clips/<job>/labelled.mp4`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _path(self, ref: str) -> Path:
        return self.root / checked_ref(ref)

    def _existing(self, ref: str) -> Path:
        path = self._path(ref)
        if not path.is_file():
            raise BlobError(f"blob {ref} does not exist")
        return path

    def put(self, ref: str, data: bytes) -> None:
        """Write bytes atomically under a reference."""
        write_atomic(self._path(ref), data)

    def read(self, ref: str) -> bytes:
        """Read a blob; BlobError when it does not exist."""
        return self._existing(ref).read_bytes()

    def put_file(self, ref: str, path: Path) -> None:
        """Copy a local file in atomically."""
        copy_atomic(path, self._path(ref), mode=0o600)

    @contextlib.contextmanager
    def local_copy(self, ref: str) -> Iterator[Path]:
        """The blob's own file: nothing to download or clean up."""
        yield self._existing(ref)

    def writing(self, ref: str) -> contextlib.AbstractContextManager[Path]:
        """A temp file beside the blob, renamed over it only if the block completes."""
        return atomic_path(self._path(ref))

    def delete(self, ref: str) -> None:
        """Remove one file; gone already is fine."""
        self._path(ref).unlink(missing_ok=True)

    def delete_intermediates(self, job_id: str) -> None:
        """Remove the job's folder of unsigned clips."""
        folder = self._path(blob_ref(INTERMEDIATES, job_id, "labelled.mp4")).parent
        shutil.rmtree(folder, ignore_errors=True)

    def jobs_with_intermediates(self) -> list[str]:
        """Job ids with a folder of unsigned clips."""
        folder = self.root / INTERMEDIATES
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and is_job_id(p.name))

    def serve(self, ref: str, *, filename: str, media_type: str) -> Served:
        """The file itself, for the API to send."""
        return LocalFile(self._existing(ref))

    def ping(self) -> None:
        """The folder must still be there and be a folder."""
        if not self.root.is_dir():
            raise BlobUnavailable(f"the blob folder {self.root} is missing")
