"""The journey through every Kafka topic on a real broker, workers as consumer groups."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

from kafka import KafkaConsumer

from audit.store import AuditQuery
from stillguard.blobs import open_blob_store
from stillguard.container import open_authority, open_store
from stillguard.pipeline.worker import run_worker
from stillguard.services.intake import JobRequest, submit_job
from streams import topics
from streams.kafka import KafkaBackend
from tests.support.journey import SMALL_CLIP, settings_for
from tests.support.samples import SAMPLE_PHOTO

STAGES = ["input-gate", "generator", "output-gate", "provenance", "audit-writer"]
JOURNEY_TOPICS = [
    topics.JOBS_SUBMITTED,
    topics.JOBS_INPUT_CLEARED,
    topics.VIDEOS_GENERATED,
    topics.VIDEOS_CLEARED,
    topics.JOBS_COMPLETED,
]


def _keys_per_topic(bootstrap: str) -> dict[str, set[str]]:
    consumer = KafkaConsumer(
        *JOURNEY_TOPICS,
        bootstrap_servers=bootstrap,
        group_id="journey-inspector",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=4000,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    seen: dict[str, set[str]] = {t: set() for t in JOURNEY_TOPICS}
    try:
        for record in consumer:
            seen[record.topic].add(json.loads(record.value)["job_id"])
    finally:
        consumer.close()
    return seen


def test_job_travels_every_topic_and_is_published_with_its_audit_trail(
    tmp_path: Path, kafka_bootstrap: str, pg_url: str
) -> None:
    settings = settings_for(
        tmp_path, STILLGUARD_KAFKA_BOOTSTRAP=kafka_bootstrap, STILLGUARD_DATABASE_URL=pg_url
    )
    store = open_store(settings)
    open_authority(settings)  # create the keys once, before workers race to do it
    stop = threading.Event()
    workers = [
        threading.Thread(target=run_worker, args=(settings, stage, stop), daemon=True)
        for stage in STAGES
    ]
    for worker in workers:
        worker.start()
    backend = KafkaBackend(kafka_bootstrap, client_id="journey-test")
    try:
        backend.ensure_topics()
        request = JobRequest(
            photo=SAMPLE_PHOTO.read_bytes(),
            prompt="gentle waves at dawn",
            options=SMALL_CLIP,
            submitter="cli",
        )
        blobs = open_blob_store(settings)
        job = submit_job(store, blobs, request)
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            job = store.get_job(job.id)
            if job.status in ("published", "refused", "held", "failed"):
                break
            time.sleep(0.3)
        assert job.status == "published", job
        seen = _keys_per_topic(kafka_bootstrap)
        for topic in JOURNEY_TOPICS:
            assert job.id in seen[topic], f"{topic} never carried the job"
        events = store.events(AuditQuery(job_id=job.id))
        assert [(e.stage, e.kind) for e in events] == [
            ("intake", "job.created"),
            ("input", "decision"),
            ("generation", "clip.generated"),
            ("output", "decision"),
            ("provenance", "published"),
        ]
        for previous, current in itertools.pairwise(events):
            assert current.seq > previous.seq
        assert store.verify_chain().intact
        from provenance.verify import verify_file

        with blobs.local_copy(job.output_blob) as signed:
            report = verify_file(signed, open_authority(settings).trust_anchors())
        assert report.status == "valid" and report.job_id == job.id
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=15)
        backend.close()
