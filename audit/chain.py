"""The hash chain: how an event's hash is computed, and how a run of events is checked.

An event's hash is `sha256(prev_hash + canonical_json(fields))` over UTF-8 bytes, where
`prev_hash` is the previous event's hex hash (64 zeros for the first event) and `fields` are
the event's content: event_id, job_id, stage, kind, action, policy_version, decision_id,
reasons, signals, payload and created_at (ISO 8601 UTC with microseconds). Canonical JSON is
sorted keys, no whitespace, UTF-8, no NaN or infinity. Anyone holding an export of the log can
recompute the chain with nothing but this paragraph.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from audit.records import ChainReport, EventRecord, iso_utc

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, compact separators, finite numbers only."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


class ChainedContent(Protocol):
    """What an event's hash covers; both EventRecord and the AuditEvent row provide it."""

    @property
    def event_id(self) -> str: ...
    @property
    def job_id(self) -> str | None: ...
    @property
    def stage(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def action(self) -> str | None: ...
    @property
    def policy_version(self) -> str | None: ...
    @property
    def decision_id(self) -> str | None: ...
    @property
    def reasons(self) -> Sequence[str]: ...
    @property
    def signals(self) -> Sequence[dict[str, Any]]: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


def event_fields(event: ChainedContent) -> dict[str, Any]:
    """The content an event's hash covers (everything but seq and the hashes themselves)."""
    return {
        "event_id": event.event_id,
        "job_id": event.job_id,
        "stage": event.stage,
        "kind": event.kind,
        "action": event.action,
        "policy_version": event.policy_version,
        "decision_id": event.decision_id,
        "reasons": list(event.reasons),
        "signals": list(event.signals),
        "payload": event.payload,
        "created_at": iso_utc(event.created_at),
    }


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash that links an event with `fields` after the event whose hash is `prev_hash`."""
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


class ChainWalker:
    """Checks events fed in chain order, batch by batch, and remembers the first break."""

    def __init__(self) -> None:
        self.expected_prev = GENESIS_HASH
        self.checked = 0
        self.first_broken_seq: int | None = None
        self.reason: str | None = None

    def feed(self, events: Iterable[EventRecord]) -> bool:
        """Check the next events; False once a break has been found (stop feeding then)."""
        for event in events:
            self.checked += 1
            if event.prev_hash != self.expected_prev:
                return self._broken(event, "prev_hash does not match the previous event's hash")
            if chain_hash(event.prev_hash, event_fields(event)) != event.hash:
                return self._broken(event, "hash does not match the event's recorded content")
            self.expected_prev = event.hash
        return True

    def report(self) -> ChainReport:
        """The verdict so far."""
        intact = self.first_broken_seq is None
        return ChainReport(
            intact=intact,
            checked=self.checked,
            first_broken_seq=self.first_broken_seq,
            reason=self.reason,
            head_hash=(self.expected_prev if self.checked else None) if intact else None,
        )

    def _broken(self, event: EventRecord, why: str) -> bool:
        self.first_broken_seq = event.seq
        self.reason = f"event seq={event.seq} ({event.event_id}): {why}"
        return False
