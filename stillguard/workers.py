"""`stillguard worker STAGE`: one stage as a member of a Kafka consumer group."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from streams import topics
from streams.kafka import KafkaBackend

from .deps import StageDeps
from .pipeline import dead_letter_handler, guarded
from .settings import Settings
from .stages import STAGES, fail_job
from .wiring import build_deps, open_store

log = logging.getLogger("stillguard.worker")
DEAD_LETTER_TOPICS = [topics.dead_letter_topic(topic) for topic, _ in STAGES.values()]


def audit_writer(message: dict[str, Any], deps: StageDeps) -> None:
    """Record a dead-lettered message: its job ends `failed` with the error, audited.

    Workers also do this themselves when they give up; this consumer catches the cases where the
    worker died before it could, so no job is left running forever.
    """
    dead = message.get("dead_letter") or {}
    topic = dead.get("topic", "unknown topic")
    stage = next((name for name, (t, _) in STAGES.items() if t == topic), "stream")
    fail_job(
        deps,
        message["job_id"],
        stage,
        f"{stage} gave up: {dead.get('error', 'message could not be processed')}",
    )


def run_worker(settings: Settings, stage: str, stop: threading.Event | None = None) -> None:
    """Consume the stage's topic until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    backend = KafkaBackend(settings.kafka_bootstrap or "", client_id=f"stillguard-{stage}")
    backend.ensure_topics()
    deps = build_deps(settings, open_store(settings), backend.publish)
    if stage == "audit-writer":
        subscribed, handler = DEAD_LETTER_TOPICS, guarded(stage, audit_writer, deps)
    else:
        topic, fn = STAGES[stage]
        subscribed, handler = [topic], guarded(stage, fn, deps)
    log.info("worker stage=%s topics=%s", stage, ",".join(subscribed))
    try:
        backend.consume(
            subscribed,
            f"stillguard-{stage}",
            handler,
            stop=stop,
            on_dead_letter=dead_letter_handler(deps),
        )
    finally:
        backend.close()
