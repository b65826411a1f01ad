"""The embedded-mode stream backend: topics as one in-memory FIFO queue, handlers called inline.

Deterministic and single-threaded: nothing happens until `run_until_idle`, which delivers every
queued message (including those published by handlers while it runs) in publication order.
Messages go through `encode_message`/`decode_message` exactly as on Kafka, so a stage that
works here does not meet a different validation in distributed mode, and each delivery gets
its own copy of the message.
"""

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

from streams.backend import (
    DeadLetter,
    Handler,
    StreamError,
    dead_letter_message,
    delivering,
    handle_with_retries,
)
from streams.messages import encode_message
from streams.topics import dead_letter_topic

log = logging.getLogger(__name__)


class InProcessBackend:
    """Embedded-mode backend: deterministic, single thread, same retry/dead-letter rules as Kafka."""

    def __init__(
        self,
        max_attempts: int = 3,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._max_attempts = max_attempts
        self._on_dead_letter = on_dead_letter
        self._subscribers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._queue: deque[tuple[str, bytes, Mapping[str, str]]] = deque()
        self._running = False
        self._closed = False

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call `handler` for every message on `topic`; each subscriber is like its own group."""
        self._subscribers[topic].append(handler)

    def publish(
        self, topic: str, message: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        """Validate and enqueue a message; it is delivered by the next `run_until_idle`."""
        if self._closed:
            raise StreamError(f"cannot publish to {topic}: the in-process backend is closed")
        self._queue.append((topic, encode_message(message), dict(headers or {})))

    def pending(self) -> int:
        """How many messages are queued and not yet delivered."""
        return len(self._queue)

    def run_until_idle(self) -> int:
        """Deliver queued messages FIFO until none is left; returns how many were delivered.

        A message counts as delivered when it was handed to the subscribers of its topic
        (whether they succeeded or it was dead-lettered); a message on a topic nobody
        subscribes to is dropped and not counted.
        """
        if self._running:
            raise StreamError("run_until_idle called from inside a handler")
        self._running = True
        delivered = 0
        try:
            while self._queue:
                topic, raw, headers = self._queue.popleft()
                handlers = list(self._subscribers.get(topic, ()))
                if not handlers:
                    log.debug("event=dropped topic=%s reason=no-subscriber", topic)
                    continue
                for handler in handlers:
                    with delivering(headers):
                        self._deliver(topic, raw, handler)
                delivered += 1
        finally:
            self._running = False
        return delivered

    def close(self) -> None:
        """Refuse further publishing; queued messages are discarded."""
        self._closed = True
        self._queue.clear()

    def _deliver(self, topic: str, raw: bytes, handler: Handler) -> None:
        """Call one handler with retries; after the last failure, dead-letter the message."""
        dead = handle_with_retries(handler, topic, raw, max_attempts=self._max_attempts)
        if dead is None:
            return
        log.error(
            "event=dead-lettered topic=%s job_id=%s attempts=%d",
            topic,
            dead.message["job_id"],
            dead.attempts,
        )
        letter = encode_message(dead_letter_message(dead))
        self._queue.append((dead_letter_topic(topic), letter, {}))
        if self._on_dead_letter is not None:
            self._on_dead_letter(dead)
