"""The blob stores: the local folder and an S3-compatible bucket keep the same promises."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from stillguard.blobs import (
    BlobError,
    BlobStore,
    BlobUnavailable,
    LocalFile,
    S3BlobStore,
    SignedUrl,
    blob_ref,
    open_blob_store,
)
from stillguard.settings import SettingsError
from tests.support.journey import settings_for
from tests.support.s3_server import TEST_SECRET_ACCESS_KEY, closed_port_url, s3_client

JOB = "0123456789abcdef0123456789abcdef"
OTHER_JOB = "fedcba9876543210fedcba9876543210"
CLIP = blob_ref("clips", JOB, "labelled.mp4")
SIGNED = blob_ref("outputs", JOB, "signed.mp4")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    env = request.getfixturevalue("s3_blob_env") if request.param == "s3" else {}
    return open_blob_store(settings_for(tmp_path, **env))


def test_bytes_put_are_read_back_and_a_missing_blob_is_an_error(store: BlobStore) -> None:
    store.put(CLIP, b"clip bytes")
    assert store.read(CLIP) == b"clip bytes"
    with pytest.raises(BlobError, match="does not exist"):
        store.read(SIGNED)
    with pytest.raises(BlobError, match="does not exist"), store.local_copy(SIGNED):
        pass


def test_a_local_copy_holds_the_blob_and_a_put_file_stores_one(
    store: BlobStore, tmp_path: Path
) -> None:
    source = tmp_path / "made.mp4"
    source.write_bytes(b"\x00\x01" * 40_000)
    store.put_file(SIGNED, source)
    with store.local_copy(SIGNED) as copy:
        assert copy.read_bytes() == source.read_bytes()
    if isinstance(store, S3BlobStore):
        assert not copy.exists(), "the downloaded copy is removed after the block"


def test_a_written_blob_is_stored_only_if_the_block_completes(store: BlobStore) -> None:
    with pytest.raises(RuntimeError), store.writing(SIGNED) as partial:
        partial.write_bytes(b"half a clip")
        raise RuntimeError("the encoder died")
    with pytest.raises(BlobError, match="does not exist"):
        store.read(SIGNED)
    with store.writing(SIGNED) as partial:
        partial.write_bytes(b"a whole clip")
    assert store.read(SIGNED) == b"a whole clip"


def test_intermediates_are_listed_per_job_and_deleted_without_touching_outputs(
    store: BlobStore,
) -> None:
    assert store.jobs_with_intermediates() == []
    store.put(CLIP, b"unsigned")
    store.put(blob_ref("clips", OTHER_JOB, "labelled.mp4"), b"unsigned too")
    store.put(SIGNED, b"signed")
    assert store.jobs_with_intermediates() == sorted([JOB, OTHER_JOB])
    store.delete_intermediates(JOB)
    assert store.jobs_with_intermediates() == [OTHER_JOB]
    with pytest.raises(BlobError):
        store.read(CLIP)
    assert store.read(SIGNED) == b"signed"


@pytest.mark.parametrize(
    "ref",
    [
        "../secrets/key.pem",
        f"clips/{JOB}/../../../etc/passwd.mp4",
        f"/clips/{JOB}/labelled.mp4",
        f"s3://another-bucket/tenant-a/blobs/clips/{JOB}/labelled.mp4",
        f"tenant-b/clips/{JOB}/labelled.mp4",
        f"clips/{JOB}/labelled.exe",
        f"clips/{JOB[:-1]}/labelled.mp4",
        f"models/{JOB}/weights.mp4",
        "",
    ],
)
def test_a_reference_outside_the_store_or_malformed_is_refused(store: BlobStore, ref: str) -> None:
    for use in (
        lambda: store.read(ref),
        lambda: store.put(ref, b"x"),
        lambda: store.serve(ref, filename="x.mp4", media_type="video/mp4"),
    ):
        with pytest.raises(BlobError, match="invalid blob reference"):
            use()
    with pytest.raises(BlobError, match="invalid"):
        store.delete_intermediates("../" + JOB)


def test_s3_objects_live_under_the_configured_prefix_only(
    s3_blob_env: dict, tmp_path: Path
) -> None:
    store = open_blob_store(settings_for(tmp_path, **s3_blob_env))
    store.put(CLIP, b"unsigned")
    store.put(SIGNED, b"signed")
    bucket = s3_blob_env["STILLGUARD_BLOB_URL"].removeprefix("s3://").split("/")[0]
    listed = s3_client(s3_blob_env["STILLGUARD_BLOB_ENDPOINT_URL"]).list_objects_v2(Bucket=bucket)
    assert sorted(item["Key"] for item in listed["Contents"]) == [
        f"tenant-a/blobs/{CLIP}",
        f"tenant-a/blobs/{SIGNED}",
    ]
    assert not (tmp_path / "blobs").exists(), "nothing is written to the local folder"


def test_a_signed_output_is_served_from_s3_by_a_presigned_url(
    s3_blob_env: dict, tmp_path: Path
) -> None:
    store = open_blob_store(settings_for(tmp_path, **s3_blob_env))
    store.put(SIGNED, b"signed clip")
    served = store.serve(SIGNED, filename=f"{JOB}.mp4", media_type="video/mp4")
    assert isinstance(served, SignedUrl)
    assert TEST_SECRET_ACCESS_KEY not in served.url
    answer = httpx.get(served.url)
    assert answer.status_code == 200 and answer.content == b"signed clip"
    assert answer.headers["content-type"] == "video/mp4"
    assert f"{JOB}.mp4" in answer.headers["content-disposition"]
    tampered = served.url.replace("signed.mp4", "labelled.mp4")
    assert httpx.get(tampered).status_code == 403, "the signature covers the key"


def test_the_local_store_serves_its_own_file(tmp_path: Path) -> None:
    store = open_blob_store(settings_for(tmp_path))
    store.put(SIGNED, b"signed clip")
    served = store.serve(SIGNED, filename="x.mp4", media_type="video/mp4")
    assert served == LocalFile(tmp_path / "blobs" / SIGNED)


def test_credentials_never_reach_logs_reprs_or_errors(
    s3_blob_env: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's own debug logging included
    settings = settings_for(tmp_path, **s3_blob_env)
    store = open_blob_store(settings)
    store.put(SIGNED, b"signed")
    store.read(SIGNED)
    store.serve(SIGNED, filename="x.mp4", media_type="video/mp4")
    errors = []
    for ref in (CLIP, "../x"):
        with pytest.raises(BlobError) as caught:
            store.read(ref)
        errors.append(str(caught.value))
    closed = settings_for(
        tmp_path,
        **{
            **s3_blob_env,
            "STILLGUARD_BLOB_ENDPOINT_URL": closed_port_url(),
            "STILLGUARD_BLOB_MAX_ATTEMPTS": "1",
        },
    )
    with pytest.raises(BlobUnavailable) as unreachable:
        open_blob_store(closed).read(SIGNED)
    errors.append(str(unreachable.value))
    assert "object store" in errors[-1] and "unreachable" in errors[-1]
    assert caplog.records, "debug logging was captured"
    for text in (caplog.text, repr(settings), str(settings), repr(store), *errors):
        assert TEST_SECRET_ACCESS_KEY not in text


@pytest.mark.parametrize(
    "url", ["s3://ab", "http://bucket/prefix", "s3://bucket/../other", "s3://Bucket/x", "bucket"]
)
def test_a_blob_url_that_is_not_a_bucket_and_prefix_is_a_one_line_error(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(SettingsError, match="^STILLGUARD_BLOB_URL="):
        settings_for(tmp_path, STILLGUARD_BLOB_URL=url)


def test_a_blob_url_names_the_bucket_and_prefix(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, STILLGUARD_BLOB_URL="s3://media.example-1/tenant/a/")
    assert settings.blob_location == ("media.example-1", "tenant/a")
    assert settings_for(tmp_path).blob_location is None
