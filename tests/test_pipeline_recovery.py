"""No job lost, none stuck: the outbox, leases and the recovery sweeper, under crashes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from audit.store import AuditQuery
from stillguard.container import open_store
from stillguard.errors import Conflict
from stillguard.pipeline.local import LocalRunner
from stillguard.pipeline.recovery import sweep
from stillguard.services.intake import JobRequest, submit_job
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO
from tests.support.serve import free_port, start_serve

ENDED = ("published", "refused", "held", "failed")
REVIEW_EVERY_INPUT = """
version: "test-review-input"
stages:
  input: {default_action: review, rules: []}
  output: {default_action: label, rules: []}
"""


def _request(**options: object) -> JobRequest:
    return JobRequest(
        photo=SAMPLE_PHOTO.read_bytes(),
        prompt="gentle waves at dawn",
        options={**SMALL_CLIP, **options},
        submitter="cli",
    )


def _serve(home: Path, port: int, bound_s: float) -> subprocess.Popen[bytes]:
    return start_serve(home, port, STILLGUARD_RECOVERY_BOUND_S=str(bound_s))


def test_serve_killed_mid_job_resumes_every_accepted_job_after_restart(tmp_path: Path) -> None:
    bound_s = 8.0  # leases of 2 s: a dead server's jobs are found quickly
    settings = settings_for(tmp_path, STILLGUARD_RECOVERY_BOUND_S=str(bound_s))
    store = open_store(settings)
    _, secret = store.create_api_key("submitter")
    headers = {"Authorization": f"Bearer {secret}"}
    port = free_port()
    server = _serve(tmp_path, port, bound_s)
    job_ids = []
    try:
        for seed in range(4):
            answer = httpx.post(
                f"http://127.0.0.1:{port}/v1/jobs",
                headers=headers,
                files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
                data={"options": json.dumps({**SMALL_CLIP, "seed": seed, "duration_s": 3.0})},
                timeout=30,
            )
            assert answer.status_code == 202, answer.text
            job_ids.append(answer.json()["job_id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill while a clip is being made
            if store.outbox.pending() and any(
                store.get_job(j).status == "running" for j in job_ids
            ):
                break
            time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    unfinished = [j for j in job_ids if store.get_job(j).status not in ENDED]
    assert unfinished, "the server finished every job before it was killed: nothing was tested"

    restarted_at = time.monotonic()
    server = _serve(tmp_path, port, bound_s)
    try:
        deadline = restarted_at + bound_s + 60
        while time.monotonic() < deadline:
            if all(store.get_job(j).status in ENDED for j in job_ids):
                break
            time.sleep(0.2)
        recovered_in = time.monotonic() - restarted_at
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    jobs = [store.get_job(j) for j in job_ids]
    assert all(job.status in ("published", "failed") for job in jobs), [j.status for j in jobs]
    assert all(job.error for job in jobs if job.status == "failed")
    assert recovered_in < bound_s + 60
    assert not list((tmp_path / "blobs").glob("clips/*/*")), "unsigned intermediates were left"
    for job in jobs:
        published = store.events(AuditQuery(job_id=job.id, kind="published"))
        assert len(published) == (job.status == "published"), "published twice"
    assert store.verify_chain().intact


def test_a_job_whose_worker_died_mid_stage_is_handed_on_and_completes(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, STILLGUARD_RECOVERY_BOUND_S="2")
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    job = submit_job(store, runner.deps.blobs, _request())
    # A worker took the message and the lease, then died: the message is gone, the lease stays.
    taken = store.outbox.claim("dead-worker", lease_s=600, job_id=job.id)
    store.outbox.complete(taken[0].id, "dead-worker")
    assert store.leases.take(job.id, "input-gate", "dead-worker", ttl_s=0.5) is not None
    time.sleep(0.6)
    assert sweep(runner.deps).handed_on == 1
    finished = runner.finish(job.id)
    assert finished.status == "published"
    assert len(store.events(AuditQuery(job_id=job.id, kind="decision", stage="input"))) == 1


def test_a_job_that_keeps_killing_its_worker_fails_with_a_reason(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, STILLGUARD_RECOVERY_BOUND_S="2")
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    job = submit_job(store, runner.deps.blobs, _request())
    for attempt in range(settings.max_attempts):
        lease = store.leases.take(job.id, "input-gate", f"worker-{attempt}", ttl_s=0.2)
        assert lease is not None and lease.attempt == attempt + 1
        time.sleep(0.3)
    finished = runner.finish(job.id)  # the waiting message is the fourth try
    assert finished.status == "failed"
    assert "gave up after 3 attempts" in finished.error


def test_a_job_its_event_and_its_message_commit_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audit.store

    settings = settings_for(tmp_path)
    store = open_store(settings)
    runner = LocalRunner(settings, store)

    def broken_outbox(session, messages):  # type: ignore[no-untyped-def]
        raise OSError("disk full while writing the outbox")

    monkeypatch.setattr(audit.store, "_add_outbox", broken_outbox)
    with pytest.raises(OSError, match="disk full"):
        submit_job(store, runner.deps.blobs, _request())
    assert store.list_jobs() == []
    assert store.events(AuditQuery(kind="job.created")) == []


def test_two_reviewers_deciding_at_once_are_not_both_recorded(tmp_path: Path) -> None:
    from stillguard.services.review import decide

    pack = tmp_path / "review-every-input.yaml"
    pack.write_text(REVIEW_EVERY_INPUT)
    settings = settings_for(tmp_path, STILLGUARD_POLICY_PATH=str(pack))
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    held = runner.run(_request(), None).job
    assert held.status == "held", held
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def review(action: str) -> None:
        barrier.wait()
        try:
            decide(runner.deps, held.id, action=action, reason="looked", reviewer=action)
            outcomes.append("decided")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=review, args=(a,)) for a in ("approve", "block")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["decided", "not_held"]
    reviewer_events = [
        e
        for e in store.events(AuditQuery(job_id=held.id, kind="decision"))
        if e.payload.get("reviewer")
    ]
    assert len(reviewer_events) == 1


def test_retention_deletes_an_ended_jobs_photo_and_clip_and_says_so_in_the_audit(
    tmp_path: Path,
) -> None:
    from stillguard.blobs import BlobError

    settings = settings_for(tmp_path, STILLGUARD_RETENTION_DAYS="0.00001")  # under a second
    store = open_store(settings)
    runner = LocalRunner(settings, store)
    job = runner.run(_request(), None).job
    assert job.status == "published"
    time.sleep(1.0)
    sweep(runner.deps)
    job = store.get_job(job.id)
    assert job.blobs_expired_at is not None
    for ref in (job.output_blob, job.input_blob):
        with pytest.raises(BlobError):
            runner.deps.blobs.read(ref)
    expired = store.events(AuditQuery(job_id=job.id, kind="blobs.expired"))
    assert len(expired) == 1 and set(expired[0].payload["deleted"]) == {
        job.output_blob,
        job.input_blob,
    }
    assert sweep(runner.deps).expired == 0, "each job expires once"
    assert store.verify_chain().intact


def test_a_database_that_is_down_answers_503_with_retry_after_and_records_no_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    from stillguard.api import create_app

    settings = settings_for(tmp_path)
    store = open_store(settings)
    _, secret = store.create_api_key("submitter")
    with TestClient(create_app(settings)) as client:
        app_store = client.app.state.services.store

        def down(*args: object, **kwargs: object) -> None:
            raise OperationalError("INSERT INTO jobs ...", {}, ConnectionError("server closed"))

        monkeypatch.setattr(app_store, "create_job", down)
        answer = client.post(
            "/v1/jobs",
            headers={"Authorization": f"Bearer {secret}"},
            files={"image": ("p.jpg", SAMPLE_PHOTO.read_bytes(), "image/jpeg")},
            data={"options": json.dumps(SMALL_CLIP)},
        )
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert answer.json()["error"]["code"] == "unavailable"
    assert "INSERT" not in answer.text and "server closed" not in answer.text
    assert store.list_jobs() == [] and store.outbox.pending() == 0


def test_a_job_accepted_while_the_broker_is_down_is_sent_once_when_it_returns(
    tmp_path: Path, kafka_bootstrap: str, unique_kafka_name: str
) -> None:
    from kafka import KafkaConsumer

    from stillguard.pipeline.relay import OutboxRelay
    from streams.kafka import KafkaBackend

    settings = settings_for(tmp_path)
    store = open_store(settings)
    deps = LocalRunner(settings, store).deps
    job = submit_job(store, deps.blobs, _request())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    down = KafkaBackend(dead, publish_timeout_s=1, connect_timeout_s=1)
    topic = f"{unique_kafka_name}-submitted"

    def to_topic(backend: KafkaBackend):  # type: ignore[no-untyped-def]
        return lambda _topic, message, headers: backend.publish(topic, message, headers)

    for _ in range(3):
        assert OutboxRelay(deps, to_topic(down), job_id=job.id).run_once() == 1
        with store.engine.begin() as connection:  # due again now, without waiting for backoff
            connection.exec_driver_sql("UPDATE outbox_messages SET available_at = created_at")
    down.close()
    [row] = store.outbox.claim("peek", lease_s=0.001, job_id=job.id)
    assert row.attempts == 1 and "StreamError" in (row.last_error or "")
    time.sleep(0.01)
    up = KafkaBackend(kafka_bootstrap)
    up.ensure_topics([topic])
    assert OutboxRelay(deps, to_topic(up), job_id=job.id).run_once() == 1
    assert OutboxRelay(deps, to_topic(up), job_id=job.id).run_once() == 0, "sent once"
    up.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    sent = [json.loads(r.value)["job_id"] for r in consumer]
    consumer.close()
    assert sent == [job.id]
