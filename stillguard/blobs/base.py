"""What every blob store offers the pipeline, the services and the API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class LocalFile:
    """A blob the API serves from this machine's disk."""

    path: Path


@dataclass(frozen=True)
class SignedUrl:
    """A short-lived URL the API redirects to, so the bytes come from the object store itself."""

    url: str


Served = LocalFile | SignedUrl


class BlobStore(Protocol):
    """Photos and clips addressed by validated references (see `refs`); one per process.

    Every method raises BlobError for a malformed reference (or a blob that does not exist) and
    BlobUnavailable when the store cannot be reached after its own retries.
    """

    def put(self, ref: str, data: bytes) -> None:
        """Store bytes under a reference, whole or not at all."""
        ...

    def read(self, ref: str) -> bytes:
        """A blob's bytes."""
        ...

    def put_file(self, ref: str, path: Path) -> None:
        """Store a local file under a reference, whole or not at all."""
        ...

    def local_copy(self, ref: str) -> AbstractContextManager[Path]:
        """A path on this machine holding the blob, valid inside the block (readers only)."""
        ...

    def writing(self, ref: str) -> AbstractContextManager[Path]:
        """A fresh local path to write a blob into; it is stored only if the block completes."""
        ...

    def delete(self, ref: str) -> None:
        """Remove one blob (retention); a blob already gone is not an error."""
        ...

    def delete_intermediates(self, job_id: str) -> None:
        """Remove a job's unsigned clips once it ended: only signed outputs are ever kept."""
        ...

    def jobs_with_intermediates(self) -> list[str]:
        """Job ids that still have unsigned clips (the recovery sweeper checks they ended)."""
        ...

    def serve(self, ref: str, *, filename: str, media_type: str) -> Served:
        """How the API hands a blob to a client: a local file, or a signed URL to redirect to."""
        ...

    def ping(self) -> None:
        """Raise BlobUnavailable unless the store answers (readiness)."""
        ...
