"""`stillguard worker STAGE`: one stage as a member of a Kafka consumer group."""

from __future__ import annotations

import logging
import signal
import threading

from streams import topics
from streams.kafka import KafkaBackend
from streams.messages import DeadLettered

from ..container import StageDeps, build_deps, open_store
from ..settings import Settings
from .records import fail_job
from .runners import dead_letter_handler, guarded
from .stages import AUDIT_WRITER, STAGES, stage_for_topic

log = logging.getLogger("stillguard.worker")
DEAD_LETTER_TOPICS = [topics.dead_letter_topic(stage.topic) for stage in STAGES.values()]


def audit_writer(message: DeadLettered, deps: StageDeps) -> None:
    """Record a dead-lettered message: its job ends `failed` with the error, audited.

    Workers also do this themselves when they give up; this consumer catches the cases where the
    worker died before it could, so no job is left running forever.
    """
    stage = stage_for_topic(message.dead_letter.topic)
    fail_job(deps, message.job_id, stage, f"{stage} gave up: {message.dead_letter.error}")


def run_worker(settings: Settings, stage: str, stop: threading.Event | None = None) -> None:
    """Consume the stage's topic until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    backend = KafkaBackend(settings.kafka_bootstrap or "", client_id=f"stillguard-{stage}")
    backend.ensure_topics()
    deps = build_deps(settings, open_store(settings), backend.publish)
    if stage == AUDIT_WRITER:
        subscribed, handler = DEAD_LETTER_TOPICS, guarded(stage, audit_writer, deps)
    else:
        subscribed = [STAGES[stage].topic]
        handler = guarded(stage, STAGES[stage].run, deps)
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
