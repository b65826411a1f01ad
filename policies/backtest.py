"""Dry-run and backtest: replay recorded signals through a policy pack and show what would change.

Works on any recorded decision (an audit event or its dict form) that carries `stage`, `action`
and `signals` (Signal dicts); other event kinds are skipped. The candidate is compared with the
action that was recorded, or, given a baseline pack, with what the baseline decides on the same
signals (two versions compared on the same history). Nothing is written anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from policies.pack import STAGES, PolicyPack
from safety.signals import Signal


class RecordedScore(NamedTuple):
    """What deciding an action reads of a recorded signal: built for each of a million recorded
    decisions, so a tuple rather than a whole (frozen, seven-field) Signal."""

    category: str
    score: float
    evaluated: bool


@dataclass(frozen=True)
class BacktestChange:
    """One recorded decision whose action the candidate pack would change."""

    job_id: str
    stage: str
    old_action: str
    new_action: str
    old_policy_version: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `policy backtest --json`."""
        return {
            "job_id": self.job_id,
            "stage": self.stage,
            "old_action": self.old_action,
            "new_action": self.new_action,
            "old_policy_version": self.old_policy_version,
            "reasons": list(self.reasons),
        }


@dataclass
class BacktestReport:
    """What a candidate pack would have decided over recorded history."""

    policy_version: str
    baseline_version: str | None = None  # None: compared with the recorded actions
    replayed: int = 0
    unchanged: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changes: list[BacktestChange] = field(default_factory=list)

    def merge(self, part: BacktestReport) -> None:
        """Add a later part of the same backtest (another worker's stretch of the log)."""
        self.replayed += part.replayed
        self.unchanged += part.unchanged
        self.transitions.update(part.transitions)
        self.changes.extend(part.changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: counts per old -> new action, and every change."""
        return {
            "policy_version": self.policy_version,
            "baseline_version": self.baseline_version,
            "replayed": self.replayed,
            "unchanged": self.unchanged,
            "changed": len(self.changes),
            "transitions": [
                {"from": old, "to": new, "count": n}
                for (old, new), n in sorted(self.transitions.items())
            ],
            "changes": [c.to_dict() for c in self.changes],
        }


def _field(record: Any, name: str, default: Any = None) -> Any:
    # a dict (an event's JSON form) or a record with attributes (the store's); `dict`, not the
    # Mapping ABC, as this runs five times for each of a million decisions
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def replay(pack: PolicyPack, stage: str, signals: Iterable[dict[str, Any]]) -> Any:
    """Dry-run: the decision `pack` makes for recorded signal dicts (nothing is recorded)."""
    return pack.decide(stage, [Signal.from_dict(s) for s in signals], job_id="dry-run")


def backtest(
    pack: PolicyPack, records: Iterable[Any], *, baseline: PolicyPack | None = None
) -> BacktestReport:
    """Replay every recorded stage decision through `pack`, against the recorded action or, with
    `baseline`, against the baseline's decision on the same signals. Only the actions are
    compared; the reasons are written for the decisions that change. A stage both packs define
    alike is decided once."""
    report = BacktestReport(pack.version, baseline.version if baseline else None)
    alike = {
        stage
        for stage, policy in pack.stages.items()
        if baseline is not None and baseline.stages.get(stage) == policy
    }
    for record in records:
        stage = _field(record, "stage")
        old_action = _field(record, "action")
        kind = _field(record, "kind", "decision")
        if stage not in STAGES or stage not in pack.stages or not old_action or kind != "decision":
            continue
        recorded = _field(record, "signals") or ()
        scores = [
            RecordedScore(s["category"], s["score"], s.get("evaluated", True)) for s in recorded
        ]
        action = pack.action(stage, scores)
        old_version = str(_field(record, "policy_version", ""))
        if baseline is not None:
            old_action = action if stage in alike else baseline.action(stage, scores)
            old_version = baseline.version
        report.replayed += 1
        report.transitions[(old_action, action)] += 1
        if action == old_action:
            report.unchanged += 1
            continue
        report.changes.append(
            BacktestChange(
                job_id=str(_field(record, "job_id", "")),
                stage=stage,
                old_action=old_action,
                new_action=action,
                old_policy_version=old_version,
                reasons=replay(pack, stage, recorded).reasons,
            )
        )
    return report
