"""The S3-compatible blob store: AWS S3, MinIO or Ceph, through boto3.

boto3 is AWS's own, long-kept client: it speaks every S3-compatible store through
`endpoint_url`, reads credentials from the standard chain (environment, profile, instance role)
when none are configured, retries with backoff in its `standard` mode, and presigns URLs
offline. Objects live at `<prefix>/<ref>` in one bucket; a reference is checked against the
pattern before any key is built from it, so no message can reach outside that bucket and prefix.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from .base import Served, SignedUrl
from .refs import INTERMEDIATES, BlobError, BlobUnavailable, checked_ref, is_job_id

log = logging.getLogger("stillguard.blobs")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DownloadLinks:
    """How `serve` presigns its short-lived GET URLs: with a client for the endpoint that
    downloaders reach (a public one may differ from the store's own) and for how long."""

    client: Any
    ttl_s: int = 300

    def url(self, bucket: str, key: str, *, filename: str, media_type: str) -> str:
        """A presigned GET of `bucket`/`key`, downloaded as `filename` of `media_type`."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentType": media_type,
                "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
            ExpiresIn=self.ttl_s,
        )


class S3BlobStore:
    """Blobs as objects `<prefix>/<ref>` in one bucket of an S3-compatible store."""

    def __init__(
        self, client: Any, bucket: str, prefix: str, *, links: DownloadLinks | None = None
    ) -> None:
        self._client = client
        self._links = links or DownloadLinks(client)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._where = f"s3://{bucket}/{self.prefix}" + (
            f" at {client.meta.endpoint_url}" if client.meta.endpoint_url else ""
        )

    def __repr__(self) -> str:
        return f"S3BlobStore({self._where!r})"

    def _key(self, ref: str) -> str:
        return f"{self.prefix}/{checked_ref(ref)}" if self.prefix else checked_ref(ref)

    @contextlib.contextmanager
    def _calling(self, what: str, ref: str = "") -> Iterator[None]:
        """Turn the client's errors into BlobError (no such blob) or BlobUnavailable."""
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING and ref:
                raise BlobError(f"blob {ref} does not exist") from exc
            raise BlobUnavailable(f"object store {self._where} refused {what}: {code}") from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(
                f"object store {self._where} unreachable ({what}): {exc}"
            ) from exc

    def put(self, ref: str, data: bytes) -> None:
        """One PUT: S3 stores an object whole or not at all."""
        key = self._key(ref)
        with self._calling("put", ref):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def read(self, ref: str) -> bytes:
        """GET the object's bytes."""
        key = self._key(ref)
        with self._calling("read", ref):
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
            return answer["Body"].read()

    def put_file(self, ref: str, path: Path) -> None:
        """PUT a local file (the client rewinds it when it retries)."""
        key = self._key(ref)
        with self._calling("put", ref), open(path, "rb") as handle:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=handle)

    @contextlib.contextmanager
    def local_copy(self, ref: str) -> Iterator[Path]:
        """Download into a private temp folder, removed when the block ends."""
        key = self._key(ref)
        with tempfile.TemporaryDirectory(prefix="stillguard-blob-") as folder:
            path = Path(folder) / Path(ref).name
            with self._calling("read", ref):
                answer = self._client.get_object(Bucket=self.bucket, Key=key)
                with open(path, "wb") as handle:
                    shutil.copyfileobj(answer["Body"], handle, _CHUNK)
            yield path

    @contextlib.contextmanager
    def writing(self, ref: str) -> Iterator[Path]:
        """A temp path to write into; uploaded only if the block completes, then removed."""
        self._key(ref)
        with tempfile.TemporaryDirectory(prefix="stillguard-blob-") as folder:
            path = Path(folder) / Path(ref).name
            yield path
            self.put_file(ref, path)

    def delete(self, ref: str) -> None:
        """One DELETE; S3 answers success for a key that is already gone."""
        key = self._key(ref)
        with self._calling("delete"):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def delete_intermediates(self, job_id: str) -> None:
        """Delete every object under `<prefix>/clips/<job>/`."""
        if not is_job_id(job_id):
            raise BlobError(f"invalid job id {job_id!r}")
        folder = self._folder(INTERMEDIATES) + f"{job_id}/"
        with self._calling("delete"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder
            )
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self._client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                    )

    def jobs_with_intermediates(self) -> list[str]:
        """Job ids that have objects under `<prefix>/clips/`."""
        folder = self._folder(INTERMEDIATES)
        jobs = set()
        with self._calling("list"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder, Delimiter="/"
            )
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    name = common["Prefix"][len(folder) :].rstrip("/")
                    if is_job_id(name):
                        jobs.add(name)
        return sorted(jobs)

    def serve(self, ref: str, *, filename: str, media_type: str) -> Served:
        """A presigned GET that expires soon; the client downloads from the store directly."""
        key = self._key(ref)
        with self._calling("presign", ref):
            url = self._links.url(self.bucket, key, filename=filename, media_type=media_type)
        return SignedUrl(url)

    def ping(self) -> None:
        """HEAD the bucket."""
        with self._calling("head bucket"):
            self._client.head_bucket(Bucket=self.bucket)

    def _folder(self, kind: str) -> str:
        return f"{self.prefix}/{kind}/" if self.prefix else f"{kind}/"
