"""Fixture: an S3-compatible server (moto's emulator) on a free loopback port.

moto is an emulator for tests only; production points `STILLGUARD_BLOB_URL` and
`STILLGUARD_BLOB_ENDPOINT_URL` at AWS S3, MinIO or Ceph. The server starts once per test session;
each test gets its own bucket (`s3_blob_env`), so tests never see each other's objects.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

# The emulator accepts any credentials; these are the ones the tests check never leak.
TEST_ACCESS_KEY_ID = "AKIASTILLGUARDTEST01"
TEST_SECRET_ACCESS_KEY = "s3cr3t-never-in-logs-" + "x" * 19


@contextmanager
def running_moto() -> Iterator[str]:
    """The emulator on a free loopback port: yields its endpoint URL (http://127.0.0.1:PORT)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on the emulator, as the `STILLGUARD_*` settings of a blob store name it."""

    endpoint: str
    blob_url: str

    @property
    def env(self) -> dict[str, str]:
        """Endpoint and credentials (STILLGUARD_BLOB_URL is `blob_url`)."""
        return {
            "STILLGUARD_BLOB_ENDPOINT_URL": self.endpoint,
            "STILLGUARD_BLOB_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
            "STILLGUARD_BLOB_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
        }


@contextmanager
def running_s3(bucket: str) -> Iterator[S3Bucket]:
    """The emulator with one bucket, for the cluster, the pipeline bench and the demo."""
    with running_moto() as endpoint:
        s3_client(endpoint).create_bucket(Bucket=bucket)
        yield S3Bucket(endpoint=endpoint, blob_url=f"s3://{bucket}/blobs")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The emulator's endpoint URL, up for the whole session."""
    with running_moto() as endpoint:
        yield endpoint


def s3_client(endpoint: str) -> Any:
    """A plain boto3 client on the emulator, for tests to look behind the blob store."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
    )


@pytest.fixture
def s3_blob_env(s3_endpoint: str) -> dict[str, str]:
    """`STILLGUARD_*` variables naming a fresh bucket and prefix on the emulator."""
    bucket = f"stillguard-test-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=bucket)
    return {
        "STILLGUARD_BLOB_URL": f"s3://{bucket}/tenant-a/blobs",
        "STILLGUARD_BLOB_ENDPOINT_URL": s3_endpoint,
        "STILLGUARD_BLOB_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "STILLGUARD_BLOB_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
    }


def closed_port_url() -> str:
    """An endpoint on a loopback port nothing listens on: an unreachable object store."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
