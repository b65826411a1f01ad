"""The outbox relay: sends committed messages on, to this process's stages or to Kafka.

Every process that writes outbox rows runs one (serve, each worker, `run`). A commit that adds
rows wakes it at once; a slow poll picks up rows other processes left behind (a relay that died
mid-send loses its claim when the claim expires). Sending is at-least-once; stages are
idempotent, so a message sent twice has one effect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from streams.backend import StreamError, backoff_s, describe_error

from ..container import StageDeps
from ..metrics import DEAD_LETTERS, OUTBOX_PENDING
from ..services.webhooks import WEBHOOK_CHANNEL
from .heartbeat import heartbeat
from .polling import poll_until_stopped
from .records import fail_job
from .stages import stage_for_topic

log = logging.getLogger("stillguard.relay")

Deliver = Callable[[str, dict[str, Any], Mapping[str, str]], None]
MAX_BACKOFF_S = 30.0


class OutboxRelay:
    """Claims due outbox rows and delivers them; failed sends back off, then are dead-lettered.

    `max_sends` bounds how often one row is tried. A broker that is down is not the message's
    fault (StreamError): such rows wait and are sent when it returns, however long that takes.
    """

    def __init__(
        self,
        deps: StageDeps,
        deliver: Deliver,
        *,
        batch: int = 32,
        job_id: str | None = None,
    ) -> None:
        self.deps = deps
        self._deliver = deliver
        self._batch = batch
        self._job_id = job_id
        self._lease_s = deps.settings.lease_s
        self._max_sends = deps.settings.max_attempts
        self.wake = threading.Event()

    def run_once(self) -> int:
        """Claim and deliver what is due now; returns how many rows were handled."""
        outbox = self.deps.store.outbox
        owner = self.deps.worker_id
        rows = outbox.claim(
            owner,
            lease_s=self._lease_s,
            limit=self._batch,
            job_id=self._job_id,
            exclude_topics=[WEBHOOK_CHANNEL],  # sent by their own loop: see pipeline/webhooks.py
        )
        for row in rows:
            if row.attempts > self._max_sends:
                # Claimed this often means whoever was sending it kept dying (a crash loop).
                error = f"its sender stopped {row.attempts - 1} times while handling it"
                self._dead_letter(row.id, row.topic, row.job_id, error, row.attempts - 1)
                continue
            extend = lambda row_id=row.id: outbox.extend([row_id], owner, lease_s=self._lease_s)
            try:
                with heartbeat(extend, every_s=self._lease_s / 3):
                    self._deliver(row.topic, row.payload, row.headers)
            except StreamError as exc:
                log.warning(
                    "event=send-failed topic=%s job_id=%s error=%s", row.topic, row.job_id, exc
                )
                # The broker is down: not the message's fault, so the try does not count.
                delay = _backoff(row.attempts)
                outbox.retry_later(
                    row.id, owner, error=describe_error(exc), delay_s=delay, count=False
                )
                continue
            except Exception as exc:  # noqa: BLE001 - a message that cannot be sent at all
                error = describe_error(exc)
                if row.attempts < self._max_sends:
                    outbox.retry_later(row.id, owner, error=error, delay_s=_backoff(row.attempts))
                else:
                    self._dead_letter(row.id, row.topic, row.job_id, error, row.attempts)
                continue
            outbox.complete(row.id, owner)
        return len(rows)

    def _dead_letter(self, row_id: int, topic: str, job_id: str, error: str, attempts: int) -> None:
        self.deps.store.outbox.bury(row_id, error=error)
        DEAD_LETTERS.labels(topic=topic).inc()
        stage = stage_for_topic(topic)
        fail_job(self.deps, job_id, stage, f"{stage}: gave up after {attempts} sends: {error}")
        log.error("event=dead-lettered topic=%s job_id=%s attempts=%d", topic, job_id, attempts)

    def run(self, stop: threading.Event, *, on_idle: Callable[[], None] = lambda: None) -> None:
        """Relay until `stop` is set; `on_idle` runs between polls (the recovery sweeper)."""

        def idle() -> None:
            OUTBOX_PENDING.set(self.deps.store.outbox.pending())
            on_idle()

        poll_until_stopped(
            self.run_once, self.wake, stop, failure_event="relay-failed", on_idle=idle
        )


def _backoff(attempts: int) -> float:
    return backoff_s(attempts, first_s=0.5, max_s=MAX_BACKOFF_S)
