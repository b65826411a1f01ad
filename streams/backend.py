"""What every stream backend offers, and the dead-letter record both backends produce."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Handler = Callable[[str, dict[str, Any]], None]
"""A stage's entry point: (topic, message). Raising means "failed, retry"."""

MAX_ERROR_CHARS = 4000


class StreamError(RuntimeError):
    """The stream itself failed (broker unreachable, publish not acknowledged, backend closed)."""


class StreamBackend(Protocol):
    """Where stages publish their outputs; the in-process and Kafka backends both fit."""

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Put a message on a topic, keyed by message["job_id"]."""

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
    """A short, single-string account of an exception, bounded so it fits in a message."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


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
