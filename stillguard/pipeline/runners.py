"""Stage handlers for any stream backend: typed messages, leases, and what a failure means."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from audit.records import OutgoingMessage
from generation import GenerationOptionError, MediaError
from generation.diffusion import DiffusionUnavailable
from safety.photo_intake import BadImageError
from streams.backend import DeadLetter, Handler
from streams.inprocess import InProcessBackend
from streams.messages import MessageError, parse_message

from ..container import StageDeps
from ..metrics import DEAD_LETTERS, IN_FLIGHT, STAGE_SECONDS
from ..observability import job_span
from .heartbeat import heartbeat
from .records import StageError, fail_job
from .stages import STAGES, stage_for_topic

log = logging.getLogger("stillguard.pipeline")

# Errors that a retry cannot fix: the job fails at once with the reason instead of being retried.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    DiffusionUnavailable,
    StageError,
    BadImageError,
    GenerationOptionError,
    MediaError,
    MessageError,
)

StageFn = Callable[[Any, StageDeps], None]


def guarded(stage: str, fn: StageFn, deps: StageDeps) -> Handler:
    """A backend handler for one stage.

    The message is typed first. The stage holds the job's lease while it works (renewed by a
    heartbeat), so a duplicate delivery waits its turn and a dead worker's job is found when the
    lease runs out; after `max_attempts` tries at one stage the job fails with the reason.
    Permanent errors fail the job at once; others are raised for the backend to retry.
    """
    settings = deps.settings

    def handle(topic: str, raw: dict[str, Any]) -> None:
        job_id = str(raw.get("job_id"))
        lease = deps.store.leases.take(job_id, stage, deps.worker_id, ttl_s=settings.lease_s)
        if lease is None:
            log.info("event=skipped stage=%s job_id=%s reason=held-or-ended", stage, job_id)
            return
        if lease.attempt > settings.max_attempts:
            deps.store.leases.release(lease)
            fail_job(
                deps,
                job_id,
                stage,
                f"{stage}: gave up after {settings.max_attempts} attempts "
                "(its worker stopped or kept failing)",
            )
            return
        started = time.perf_counter()
        outcome = "ok"
        renew = lambda: deps.store.leases.renew(lease, ttl_s=settings.lease_s)
        IN_FLIGHT.labels(stage=stage).inc()
        try:
            with job_span(stage, job_id), heartbeat(renew, every_s=settings.lease_s / 3):
                fn(parse_message(topic, raw), deps)
        except PERMANENT_ERRORS as exc:
            outcome = "failed"
            log.warning("event=stage-failed stage=%s job_id=%s error=%s", stage, job_id, exc)
            fail_job(deps, job_id, stage, f"{stage}: {exc}")
        except Exception:
            outcome = "retry"
            raise
        finally:
            IN_FLIGHT.labels(stage=stage).dec()
            deps.store.leases.release(lease)
            STAGE_SECONDS.labels(stage=stage, outcome=outcome).observe(
                time.perf_counter() - started
            )

    return handle


def dead_letter_handler(deps: StageDeps) -> Callable[[DeadLetter], None]:
    """When a message keeps failing, the job ends `failed` with the last error, audited."""

    def on_dead_letter(dead: DeadLetter) -> None:
        job_id = str(dead.message.get("job_id"))
        stage = stage_for_topic(dead.topic)
        letter = OutgoingMessage(dead.topic, job_id, dict(dead.message))
        deps.store.outbox.record_dead(letter, error=dead.error, attempts=dead.attempts)
        DEAD_LETTERS.labels(topic=dead.topic).inc()
        fail_job(
            deps, job_id, stage, f"{stage} gave up after {dead.attempts} attempts: {dead.error}"
        )

    return on_dead_letter


def in_process_delivery(
    deps: StageDeps,
) -> Callable[[str, dict[str, Any], Mapping[str, str]], None]:
    """Deliver a message to this process's stages at once, with the same retry rules as Kafka."""
    backend = InProcessBackend(
        max_attempts=deps.settings.max_attempts, on_dead_letter=dead_letter_handler(deps)
    )
    for stage in STAGES.values():
        backend.subscribe(stage.topic, guarded(stage.name, stage.run, deps))

    def deliver(topic: str, message: dict[str, Any], headers: Mapping[str, str]) -> None:
        backend.publish(topic, message, headers)
        backend.run_until_idle()

    return deliver
