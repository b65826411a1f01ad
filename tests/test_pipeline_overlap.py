"""Embedded `serve` works on several jobs at once: their stages overlap, each job's stay in order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from audit.store import AuditQuery
from stillguard.container import open_store
from stillguard.pipeline.embedded import BackgroundRelay
from stillguard.pipeline.local import LocalRunner
from stillguard.services.intake import JobRequest, submit_job
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO


def _request(seed: int) -> JobRequest:
    return JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(),
        prompt=None,
        options={**SMALL_CLIP, "seed": seed},
        submitter="cli",
    )


def test_two_relay_threads_deliver_two_jobs_at_the_same_time(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_store(settings)
    deps = LocalRunner(settings, store).deps
    jobs = {submit_job(store, deps.blobs, _request(seed)).id for seed in (1, 2)}
    # each delivery waits until the other job's is in flight too: one relay thread would break
    # the barrier (its second delivery could only start after the first returned)
    both_in_flight = threading.Barrier(2, timeout=30)
    delivered: list[str] = []

    def deliver(_topic: str, message: dict, _headers: object) -> None:
        both_in_flight.wait()
        delivered.append(message["job_id"])

    relay = BackgroundRelay(deps, deliver, threads=2)
    deadline = time.monotonic() + 30
    while len(delivered) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    relay.close()
    assert sorted(delivered) == sorted(jobs)
    assert store.outbox.pending() == 0


def test_jobs_run_together_by_embedded_relay_threads_all_publish_in_order(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_store(settings)
    deps = LocalRunner(settings, store).deps
    jobs = [submit_job(store, deps.blobs, _request(seed)).id for seed in range(3)]
    relay = BackgroundRelay(deps, threads=2)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(store.get_job(job).status == "published" for job in jobs):
            break
        time.sleep(0.1)
    relay.close()
    for job in jobs:
        assert store.get_job(job).status == "published"
        decisions = store.events(AuditQuery(job_id=job, kind="decision"))
        assert [e.stage for e in decisions] == ["input", "output"]
    assert store.verify_chain().intact
