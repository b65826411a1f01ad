"""What every stream backend offers, and the dead-letter record both backends produce."""

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from streams.messages import decode_message

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
"""A stage's entry point: (topic, message). Raising means "failed, retry"."""

MAX_ERROR_CHARS = 4000

# The headers of the message being handled (e.g. its trace context), readable by the handler.
DELIVERY_HEADERS: ContextVar[Mapping[str, str] | None] = ContextVar(
    "delivery_headers", default=None
)


@contextmanager
def delivering(headers: Mapping[str, str]) -> Iterator[None]:
    """Make a message's headers visible to its handler (see DELIVERY_HEADERS)."""
    token = DELIVERY_HEADERS.set(dict(headers))
    try:
        yield
    finally:
        DELIVERY_HEADERS.reset(token)


class StreamError(RuntimeError):
    """The stream itself failed (broker unreachable, publish not acknowledged, backend closed)."""


class DeliveryInterrupted(Exception):
    """Retrying was abandoned (the consumer is stopping); the message was not handled."""


class StreamBackend(Protocol):
    """Where stages publish their outputs; the in-process and Kafka backends both fit."""

    def publish(
        self, topic: str, message: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        """Put a message on a topic, keyed by message["job_id"], with optional headers."""

    def close(self) -> None:
        """Release connections; publishing afterwards is an error."""


@dataclass(frozen=True)
class DeadLetter:
    """A message given up on: where it came from, why it failed, after how many attempts."""

    topic: str
    message: dict[str, Any]
    error: str
    attempts: int


def describe_error(exc: BaseException) -> str:
    """A short, single-string account of an exception, bounded so it fits in a message.

    Database errors carry their SQL and parameters (prompts, ids) in their text: those are named
    by type only, since the account ends up in job reasons that submitters read.
    """
    if hasattr(exc, "statement") and hasattr(exc, "orig"):
        return f"{type(exc).__name__}: a database error ({type(exc.orig).__name__}); see the log"
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def backoff_s(attempt: int, *, first_s: float, max_s: float) -> float:
    """How long to wait before the next try: doubling from `first_s` at the first, up to `max_s`."""
    return min(max_s, first_s * 2 ** max(0, attempt - 1))


def dead_letter_message(dead: DeadLetter, **details: Any) -> dict[str, Any]:
    """The message published on the dead-letter topic: the original plus a `dead_letter` field."""
    return {
        **dead.message,
        "dead_letter": {
            "error": dead.error,
            "topic": dead.topic,
            "attempts": dead.attempts,
            **details,
        },
    }


def handle_with_retries(
    handler: Handler,
    topic: str,
    raw: bytes,
    *,
    max_attempts: int,
    pause: Callable[[int], bool] | None = None,
) -> DeadLetter | None:
    """Run `handler` on the message in `raw` until it succeeds or `max_attempts` are used up.

    Returns None on success, or the DeadLetter to park. Each attempt gets a freshly decoded copy,
    so a handler that mutated its message and then failed cannot corrupt the retry. Between
    attempts `pause(attempt)` is called (a backoff wait); if it returns True, retrying is
    abandoned with DeliveryInterrupted.
    """
    error = ""
    for attempt in range(1, max_attempts + 1):
        message = decode_message(raw)
        try:
            handler(topic, message)
            return None
        except Exception as exc:  # noqa: BLE001 - any handler failure means "retry"
            error = describe_error(exc)
            log.warning(
                "event=handler-failed topic=%s job_id=%s attempt=%d/%d error=%r",
                topic,
                message["job_id"],
                attempt,
                max_attempts,
                error,
            )
        if attempt < max_attempts and pause is not None and pause(attempt):
            raise DeliveryInterrupted(f"stopped after {attempt} failed attempt(s): {error}")
    return DeadLetter(topic=topic, message=decode_message(raw), error=error, attempts=max_attempts)
