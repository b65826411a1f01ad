"""What the CLI's commands share: exit statuses, the usage error, output and time parsing."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import StillguardError, Unavailable
from ..services.input_limits import has_control_characters

EXIT_OK, EXIT_OTHER, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_HELD = 0, 1, 2, 3, 4
EXIT_FOR_STATUS = {
    "published": EXIT_OK,
    "refused": EXIT_REFUSED,
    "held": EXIT_HELD,
    "failed": EXIT_OTHER,
}
EXIT_FOR_ACTION = {
    "allow": EXIT_OK,
    "label": EXIT_OK,
    "restrict": EXIT_OK,
    "block": EXIT_REFUSED,
    "review": EXIT_HELD,
}


class UsageError(Exception):
    """Bad input on the command line: printed as one line, exit status 2."""


def exit_code_for(error: StillguardError) -> int:
    """The exit status for a service error: 1 when a dependency is down, else 2 (bad input)."""
    return EXIT_OTHER if isinstance(error, Unavailable) else EXIT_BAD_INPUT


def emit(args: argparse.Namespace, report: dict[str, Any], human: str) -> None:
    """Exactly one JSON object with `--json`, else the human-readable text."""
    print(json.dumps(report, default=str) if args.json else human)


def listing(
    rows: Iterable[dict[str, Any]], line: Callable[[dict[str, Any]], str], empty: str
) -> str:
    """The human form of a list: one line a row, or `empty` saying there are none."""
    return "\n".join(line(row) for row in rows) or empty


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from a flag, or a usage error naming the bad value."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"not an ISO 8601 time: {value!r}") from exc


def page_size(value: str) -> int:
    """A `--limit` flag: 1 to 1,000 rows, as the API allows (an argparse type)."""
    return _bounded_int(value, 1, 1000)


def sequence_number(value: str) -> int:
    """An `--after` cursor: a non-negative BIGINT (an argparse type)."""
    return _bounded_int(value, 0, 2**63 - 1)


def _bounded_int(value: str, low: int, high: int) -> int:
    try:
        number = int(value) if len(value) <= 20 else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a whole number {low}-{high}")
    return number


def safe_text(value: str) -> str:
    """A text flag (an id, a filter, a reason): no control characters such as NUL."""
    if has_control_characters(value):
        raise argparse.ArgumentTypeError("must not contain control characters (e.g. NUL)")
    return value


def existing_file(value: str, what: str = "file") -> Path:
    """A path that must name an existing file, or a usage error saying so."""
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"{what} {path} does not exist or is not a file")
    return path
