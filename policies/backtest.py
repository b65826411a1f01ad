"""Dry-run and backtest: replay recorded signals through a policy pack and show what would change.

Works on any recorded decision (an audit event or its dict form) that carries `stage`, `action`
and `signals` (Signal dicts); other event kinds are skipped. Nothing is written anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.pack import STAGES, PolicyPack
from safety.signals import Signal


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
    replayed: int = 0
    unchanged: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changes: list[BacktestChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: counts per old -> new action, and every change."""
        return {
            "policy_version": self.policy_version,
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
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def replay(pack: PolicyPack, stage: str, signals: Iterable[dict[str, Any]]) -> Any:
    """Dry-run: the decision `pack` makes for recorded signal dicts (nothing is recorded)."""
    return pack.decide(stage, [Signal.from_dict(s) for s in signals], job_id="dry-run")


def backtest(pack: PolicyPack, records: Iterable[Any]) -> BacktestReport:
    """Replay every recorded stage decision through `pack`."""
    report = BacktestReport(pack.version)
    for record in records:
        stage = _field(record, "stage")
        old_action = _field(record, "action")
        kind = _field(record, "kind", "decision")
        if stage not in STAGES or stage not in pack.stages or not old_action or kind != "decision":
            continue
        decision = replay(pack, stage, _field(record, "signals") or [])
        report.replayed += 1
        report.transitions[(old_action, decision.action)] += 1
        if decision.action == old_action:
            report.unchanged += 1
            continue
        report.changes.append(
            BacktestChange(
                job_id=str(_field(record, "job_id", "")),
                stage=stage,
                old_action=old_action,
                new_action=decision.action,
                old_policy_version=str(_field(record, "policy_version", "")),
                reasons=decision.reasons,
            )
        )
    return report
