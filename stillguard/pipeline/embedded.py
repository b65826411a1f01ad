"""Embedded `serve`: every stage in this process, fed by the outbox on background threads.

The outbox is the queue, so a restart resumes accepted jobs: nothing lives only in memory. With
several relay threads (`STILLGUARD_STAGE_THREADS`) the stages of different jobs overlap: one job
renders while another is moderated or signed. Each claims its own rows (claims are leases) and
delivers through its own in-process backend; a job's next message exists only once its stage
has committed, so one job's stages still run in order.
"""

from __future__ import annotations

import logging
import threading

from ..container import StageDeps
from .recovery import Sweeper
from .relay import Deliver, OutboxRelay
from .runners import in_process_delivery
from .webhooks import WebhookSender

log = logging.getLogger("stillguard.pipeline")


class BackgroundRelay:
    """Relays the outbox on `threads` worker threads (woken by every commit that adds messages),
    sweeps for jobs to recover while idle, and sends completion webhooks on a thread of their
    own. Without `deliver`, each thread runs the stages in this process."""

    def __init__(
        self, deps: StageDeps, deliver: Deliver | None = None, *, batch: int = 1, threads: int = 1
    ) -> None:
        self.deps = deps
        self.relays = [
            OutboxRelay(deps, deliver or in_process_delivery(deps), batch=batch)
            for _ in range(threads)
        ]
        self.webhooks = WebhookSender(deps)
        deps.store.on_outbox = self._wake
        self._stop = threading.Event()
        sweeper = Sweeper(deps)
        self._threads = [
            *(
                threading.Thread(
                    target=relay.run,
                    args=(self._stop,),
                    kwargs={"on_idle": sweeper},
                    name=f"stillguard-relay-{index}",
                    daemon=True,
                )
                for index, relay in enumerate(self.relays)
            ),
            threading.Thread(
                target=self.webhooks.run,
                args=(self._stop,),
                name="stillguard-webhooks",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()

    def _wake(self) -> None:
        for relay in self.relays:
            relay.wake.set()
        self.webhooks.wake.set()

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop after the message in hand; the rest waits in the outbox for the next start."""
        self._stop.set()
        self._wake()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
            if thread.is_alive():
                log.error(
                    "%s still busy after %.0f s; its claim will expire", thread.name, timeout_s
                )
