"""Two workers per stage on a real broker, PostgreSQL and the S3 test server: one dies mid-job."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from audit.models import Job
from audit.store import AuditQuery
from stillguard.container import open_store
from tests.support.cluster import local_cluster
from tests.support.s3_server import running_s3
from tests.support.samples import SAMPLE_PHOTO

# Long enough that the generator is caught mid-clip.
OPTIONS = {"duration_s": 6.0, "fps": 12, "size": "480x270", "seed": 3}


def _holder(store, job_id: str) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        row = (
            connection.execute(
                Job.__table__.select().where(Job.id == job_id)  # type: ignore[attr-defined]
            )
            .mappings()
            .one()
        )
    return row["lease_stage"], row["lease_owner"]


def test_a_generator_killed_mid_job_is_replaced_and_the_job_completes_once(tmp_path: Path) -> None:
    with (
        running_s3("stillguard-test") as s3,
        local_cluster(
            tmp_path,
            extra_workers=("generator",),  # the one that takes the job over
            blob_url=s3.blob_url,
            extra_env={**s3.env, "STILLGUARD_RECOVERY_BOUND_S": "8"},
        ) as cluster,
    ):
        store = open_store(cluster.settings)
        _, secret = store.create_api_key("submitter")
        answer = httpx.post(
            f"{cluster.api}/v1/jobs",
            headers={"Authorization": f"Bearer {secret}"},
            files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
            data={"options": json.dumps(OPTIONS)},
            timeout=30,
        )
        job_id = answer.json()["job_id"]
        deadline = time.monotonic() + 120
        owner = None
        while time.monotonic() < deadline:
            stage, owner = _holder(store, job_id)
            if stage == "generator" and owner:
                break
            time.sleep(0.05)
        assert owner, "the generator never took the job"
        pid = int(owner.split("-")[-2])
        generators = {p.pid for p in cluster.live("generator")}
        assert pid in generators
        os.kill(pid, signal.SIGKILL)
        status = cluster.wait_ended([job_id], timeout_s=120)[job_id]
        job = store.get_job(job_id)
        assert status == "published", job
        events = store.events(AuditQuery(job_id=job_id))
        kinds = [(e.stage, e.kind) for e in events]
        for once in (("generation", "clip.generated"), ("provenance", "published")):
            assert kinds.count(once) == 1, kinds
        assert store.verify_chain().intact
        store.close()
