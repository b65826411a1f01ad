"""A whole job with its blobs in an S3-compatible store, and what happens when it is unreachable."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from audit.store import AuditQuery
from provenance.verify import verify_file
from stillguard.api import create_app
from stillguard.container import open_authority, open_store
from stillguard.errors import Unavailable
from stillguard.pipeline.local import LocalRunner
from stillguard.services.intake import JobRequest, submit_job
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.s3_server import closed_port_url
from tests.support.samples import SAMPLE_PHOTO


def _request() -> JobRequest:
    return JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(),
        prompt="gentle waves at dawn",
        options=SMALL_CLIP,
        submitter="cli",
    )


def test_a_job_with_s3_blobs_is_published_and_its_video_verifies(
    s3_blob_env: dict, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, **s3_blob_env)
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    outcome = runner.run(_request(), tmp_path / "out.mp4")
    assert outcome.job.status == "published", outcome.job.error
    anchors = open_authority(settings).trust_anchors()
    report = verify_file(tmp_path / "out.mp4", anchors)
    assert report.status == "valid" and report.job_id == outcome.job.id
    assert runner.deps.blobs.jobs_with_intermediates() == [], "the unsigned clip is deleted"
    assert not (tmp_path / "blobs").exists(), "no blob touched the local folder"

    _, admin = store.create_api_key("admin")
    with TestClient(create_app(settings)) as client:
        answer = client.get(
            f"/v1/jobs/{outcome.job.id}/video",
            headers={"Authorization": f"Bearer {admin}"},
            follow_redirects=False,
        )
        assert answer.status_code == 307
        assert client.get("/readyz").status_code == 200
    video = httpx.get(answer.headers["location"])  # straight from the object store
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    served = tmp_path / "served.mp4"
    served.write_bytes(video.content)
    assert verify_file(served, anchors).status == "valid"


def test_an_unreachable_object_store_fails_the_job_with_the_reason_after_retries(
    s3_blob_env: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, **s3_blob_env)
    store = open_store(settings)
    job = submit_job(store, LocalRunner(settings, store).deps.blobs, _request())
    down = settings_for(
        tmp_path,
        **{
            **s3_blob_env,
            "STILLGUARD_BLOB_ENDPOINT_URL": closed_port_url(),
            "STILLGUARD_BLOB_MAX_ATTEMPTS": "2",
        },
    )
    runner = LocalRunner(down, store)
    caplog.set_level(logging.DEBUG, logger="botocore.retries.standard")
    finished = runner.finish(job.id)

    assert finished.status == "failed"
    assert "object store" in finished.error and "unreachable" in finished.error
    assert f"gave up after {down.max_attempts} attempts" in finished.error
    backoffs = [r for r in caplog.records if "retrying request after delay" in r.getMessage()]
    assert len(backoffs) >= down.max_attempts, "each try retried its request with a backoff"
    assert store.events(AuditQuery(job_id=job.id, kind="published")) == []
    assert store.events(AuditQuery(job_id=job.id, kind="job.failed"))

    with pytest.raises(Unavailable, match="cannot be reached"):
        submit_job(store, runner.deps.blobs, _request())
