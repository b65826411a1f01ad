"""The blob store: photos and clips live here and messages carry references to them.

`open_blob_store(settings)` picks the implementation: the folder HOME/blobs by default, or an
S3-compatible bucket when `STILLGUARD_BLOB_URL=s3://bucket/prefix` is set.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from .base import BlobStore, LocalFile, Served, SignedUrl
from .local import LocalBlobStore
from .refs import BlobError, BlobUnavailable, blob_ref, checked_ref, ref_owner

if TYPE_CHECKING:
    from .s3 import DownloadLinks, S3BlobStore

__all__ = [
    "BlobError",
    "BlobStore",
    "BlobUnavailable",
    "DownloadLinks",
    "LocalBlobStore",
    "LocalFile",
    "S3BlobStore",
    "Served",
    "SignedUrl",
    "blob_ref",
    "checked_ref",
    "open_blob_store",
    "ref_owner",
]

log = logging.getLogger("stillguard.blobs")


def __getattr__(name: str) -> Any:
    # boto3 costs a quarter of a second to import; a local store never needs it (bench/cold_start)
    if name in ("S3BlobStore", "DownloadLinks"):
        from . import s3

        return getattr(s3, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name; credentials stay in the client, never in logs."""
    location = settings.blob_location
    if location is None:
        return LocalBlobStore(settings.home / "blobs")
    import boto3
    from botocore.config import Config

    from .s3 import DownloadLinks, S3BlobStore

    bucket, prefix = location
    config = Config(
        region_name=settings.blob_region,
        retries={"mode": "standard", "total_max_attempts": settings.blob_max_attempts},
        connect_timeout=settings.blob_connect_timeout_s,
        read_timeout=settings.blob_read_timeout_s,
        signature_version="s3v4",
        # MinIO and Ceph are addressed by path; AWS works either way.
        s3={"addressing_style": "path" if settings.blob_endpoint_url else "auto"},
    )
    secret = settings.blob_secret_access_key
    session = boto3.session.Session(
        aws_access_key_id=settings.blob_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )

    def client(endpoint: str | None) -> Any:  # boto3's clients are generated at run time
        return session.client("s3", endpoint_url=endpoint, config=config)

    internal = client(settings.blob_endpoint_url)
    public = settings.blob_public_endpoint_url
    links = DownloadLinks(client(public) if public else internal, settings.blob_url_ttl_s)
    store = S3BlobStore(internal, bucket, prefix, links=links)
    log.info("event=blob-store store=%r", store)
    return store
