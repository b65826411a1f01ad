"""The decision a policy makes for one stage of one job."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

Action = Literal["allow", "label", "restrict", "review", "block"]

# Ordered from mildest to strictest: when several rules fire, the strictest wins.
ACTION_SEVERITY: dict[str, int] = {"allow": 0, "label": 1, "restrict": 2, "review": 3, "block": 4}


class Decision(NamedTuple):
    """What the policy decided for a stage (`input` or `output`), why, and under which version.

    Immutable; a named tuple rather than a frozen dataclass because every job's every stage
    makes one, and it is made in under half the time (issue 11's decisions per second)."""

    stage: str
    action: Action
    reasons: tuple[str, ...]
    policy_version: str
    decision_id: str
    rules_fired: tuple[str, ...] = ()
    # Categories whose classifier could not run here (no model configured): the decision was
    # made without them, so a reader knows what it did not look at.
    unevaluated: tuple[str, ...] = ()

    @property
    def publishable(self) -> bool:
        """True when the job may go on without a human: allow, label or restrict."""
        return ACTION_SEVERITY[self.action] <= ACTION_SEVERITY["restrict"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form printed by `run --json` and stored in audit events."""
        return {
            "stage": self.stage,
            "action": self.action,
            "reasons": list(self.reasons),
            "policy_version": self.policy_version,
            "decision_id": self.decision_id,
            "rules_fired": list(self.rules_fired),
            "unevaluated": list(self.unevaluated),
        }
