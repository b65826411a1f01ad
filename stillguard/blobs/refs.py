"""Blob references: `inputs|clips|outputs/<32 hex>/<name>.<ext>`, made by Stillguard, checked on use.

References are built from job ids (or a photo's content hash) and fixed names, never from user
input; the pattern keeps it that way even if a forged message carries a reference, so a reference
can never name a path outside the local folder or a key outside the configured bucket and prefix.
"""

from __future__ import annotations

import re

REF_PATTERN = re.compile(
    r"^(inputs|clips|outputs)/(?P<owner>[0-9a-f]{32})/[a-z0-9_]+\.(jpg|png|webp|gif|mp4)$"
)
# Unsigned clips live here, one folder per job, deleted once the job ends.
INTERMEDIATES = "clips"


class BlobError(ValueError):
    """A blob reference that is malformed, names something outside the store, or points at nothing."""


class BlobUnavailable(RuntimeError):
    """The blob store cannot be reached or refuses access; the text names it, never credentials."""


def _matched(ref: str) -> re.Match[str]:
    match = REF_PATTERN.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise BlobError(f"invalid blob reference {ref!r}")
    return match


def checked_ref(ref: str) -> str:
    """`ref` itself, once it matches the reference pattern; BlobError otherwise."""
    return _matched(ref).group(0)


def blob_ref(kind: str, owner: str, name: str) -> str:
    """Build a reference for a job (or a photo's content key); BlobError if it would be invalid."""
    return checked_ref(f"{kind}/{owner}/{name}")


def ref_owner(ref: str) -> str:
    """The job id (or photo content key) a reference belongs to."""
    return _matched(ref).group("owner")


def is_job_id(name: str) -> bool:
    """Whether a folder name is a job id (32 lowercase hex digits)."""
    return re.fullmatch(r"[0-9a-f]{32}", name) is not None
