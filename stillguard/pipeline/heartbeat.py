"""Keeping a lease or a claim alive while long work goes on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("stillguard.pipeline")


@contextmanager
def heartbeat(renew: Callable[[], object], every_s: float) -> Iterator[None]:
    """Call `renew` every `every_s` seconds on a daemon thread for as long as the block runs.

    A failed renewal is logged, not raised: the worst case is that the lease expires and the
    recovery sweeper hands the job to someone else, which idempotent stages make harmless.
    """
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                renew()
            except Exception:
                log.warning("event=heartbeat-failed", exc_info=True)

    thread = threading.Thread(target=beat, name="stillguard-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s + 5)
