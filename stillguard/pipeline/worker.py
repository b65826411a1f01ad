"""`stillguard worker STAGE`: one stage as a member of a Kafka consumer group."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from streams import topics
from streams.backend import Handler
from streams.kafka import KafkaBackend
from streams.messages import DeadLettered, parse_message

from ..container import StageDeps, build_deps, open_store
from ..metrics import CONSUMER_LAG
from ..services.checkpoints import CheckpointScheduler
from ..settings import Settings
from .embedded import BackgroundRelay
from .records import fail_job
from .runners import dead_letter_handler, guarded
from .stages import AUDIT_WRITER, RELAY, STAGES, stage_for_topic

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
    """Consume the stage's topic until SIGTERM/SIGINT (or `stop` is set).

    Every worker also relays what its stages commit to the outbox and sweeps for jobs to recover;
    `relay` does only that. On SIGTERM the message in hand is finished (or its lease handed
    back) before the worker exits.
    """
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    backend = KafkaBackend(settings.kafka_bootstrap or "", client_id=f"stillguard-{stage}")
    backend.ensure_topics()
    deps = build_deps(settings, open_store(settings))
    relay = BackgroundRelay(deps, backend.publish, batch=32)
    checkpoints = CheckpointScheduler(deps.store, settings, lambda: deps.authority)
    try:
        if stage == RELAY:
            log.info("worker stage=relay")
            stop.wait()
            return
        if stage == AUDIT_WRITER:
            subscribed, handler = DEAD_LETTER_TOPICS, guarded_dead_letters(deps)
        else:
            subscribed = [STAGES[stage].topic]
            handler = guarded(stage, STAGES[stage].run, deps)
        log.info("worker stage=%s topics=%s", stage, ",".join(subscribed))
        backend.consume(
            subscribed,
            f"stillguard-{stage}",
            handler,
            stop=stop,
            on_dead_letter=dead_letter_handler(deps),
            on_lag=CONSUMER_LAG.labels(stage=stage).set,
        )
    finally:
        checkpoints.close()
        relay.close()
        backend.close()


def guarded_dead_letters(deps: StageDeps) -> Handler:
    """The audit writer's handler: no lease (the job's holder may be the one that died)."""

    def handle(topic: str, raw: dict[str, Any]) -> None:
        audit_writer(parse_message(topic, raw), deps)  # type: ignore[arg-type]

    return handle
