"""The local blob store: photos and clips live here and messages carry references to them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from provenance.atomic import write_atomic

# References are made by Stillguard from job ids and fixed names, never from user input; the
# pattern keeps it that way even if a forged message carries a reference.
_REF_PATTERN = re.compile(
    r"^(inputs|clips|outputs)/[0-9a-f]{32}/[a-z0-9_]+\.(jpg|png|webp|gif|mp4)$"
)


class BlobError(ValueError):
    """A blob reference that is malformed or points at nothing."""


class BlobStore:
    """Files under HOME/blobs addressed by validated references like `clips/<job>/signed.mp4`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def ref(kind: str, job_id: str, name: str) -> str:
        """Build a reference; raises BlobError if it would not be a valid one."""
        ref = f"{kind}/{job_id}/{name}"
        if not _REF_PATTERN.fullmatch(ref):
            raise BlobError(f"invalid blob reference {ref!r}")
        return ref

    def path(self, ref: str) -> Path:
        """Filesystem path of a reference, after checking it cannot escape the store."""
        if not _REF_PATTERN.fullmatch(ref):
            raise BlobError(f"invalid blob reference {ref!r}")
        return self.root / ref

    def put(self, ref: str, data: bytes) -> Path:
        """Write bytes atomically under a reference."""
        target = self.path(ref)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
        return target

    def read(self, ref: str) -> bytes:
        """Read a blob; BlobError when it does not exist."""
        path = self.path(ref)
        if not path.exists():
            raise BlobError(f"blob {ref} does not exist")
        return path.read_bytes()

    def new_path(self, ref: str) -> Path:
        """Path for a blob a stage is about to write itself (e.g. an encoder), parents created."""
        path = self.path(ref)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def delete_intermediates(self, job_id: str) -> None:
        """Remove a job's unsigned clips once it ended: only signed outputs are ever kept."""
        shutil.rmtree(
            self.path(self.ref("clips", job_id, "labelled.mp4")).parent, ignore_errors=True
        )

    def jobs_with_intermediates(self) -> list[str]:
        """Job ids that still have unsigned clips (the recovery sweeper checks they are live)."""
        folder = self.root / "clips"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
