"""The loop every outbox sender runs: work while there is work, else wait to be woken or polled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("stillguard.polling")
POLL_S = 1.0


def poll_until_stopped(
    run_once: Callable[[], int],
    wake: threading.Event,
    stop: threading.Event,
    *,
    failure_event: str,
    on_idle: Callable[[], None] = lambda: None,
) -> None:
    """Call `run_once` until `stop` is set. When it handled nothing (or failed, logged as
    `failure_event`), `on_idle` runs and the loop waits until `wake` is set or POLL_S passes:
    a commit wakes it at once, and the poll finds what other processes left behind."""
    while not stop.is_set():
        try:
            handled = run_once()
            if not handled:
                on_idle()
        except Exception:
            log.exception("event=%s", failure_event)
            handled = 0
        if not handled:
            wake.wait(POLL_S)
            wake.clear()
