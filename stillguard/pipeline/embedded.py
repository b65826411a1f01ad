"""Embedded `serve`: every stage in this process, fed by the outbox on a background thread.

The outbox is the queue, so a restart resumes accepted jobs: nothing lives only in memory.
"""

from __future__ import annotations

import logging
import threading

from ..container import StageDeps
from .recovery import Sweeper
from .relay import Deliver, OutboxRelay
from .runners import in_process_delivery

log = logging.getLogger("stillguard.pipeline")


class BackgroundRelay:
    """Relays the outbox on a worker thread (woken by every commit that adds messages), and
    sweeps for jobs to recover while idle."""

    def __init__(self, deps: StageDeps, deliver: Deliver | None = None, *, batch: int = 1) -> None:
        self.deps = deps
        self.relay = OutboxRelay(deps, deliver or in_process_delivery(deps), batch=batch)
        deps.store.on_outbox = self.relay.wake.set
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.relay.run,
            args=(self._stop,),
            kwargs={"on_idle": Sweeper(deps)},
            name="stillguard-relay",
            daemon=True,
        )
        self._thread.start()

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop after the message in hand; the rest waits in the outbox for the next start."""
        self._stop.set()
        self.relay.wake.set()
        self._thread.join(timeout=timeout_s)
        if self._thread.is_alive():
            log.error(
                "relay still busy after %.0f s; its claim will expire and be retried", timeout_s
            )
