"""Shadow mode: a candidate pack decides beside the active one on live traffic, unenforced.

Each gate decision is replayed through the surface's shadow pack (when one is set) and recorded
as a `shadow.decision` audit event naming both actions; the report over those events gives the
agreement rate, the actions that would change and the rules responsible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from audit.records import DEFAULT_SURFACE, AuditQuery, EventDraft
from policies.decision import Decision
from safety.signals import Signal

if TYPE_CHECKING:
    from ..container import StageDeps

SHADOW_KIND = "shadow.decision"
PAGE = 1000


def record_shadow(
    deps: StageDeps,
    job_id: str,
    stage: str,
    signals: Sequence[Signal],
    active: Decision,
    *,
    surface: str = DEFAULT_SURFACE,
) -> Decision | None:
    """Decide with the surface's shadow pack (if any) and record it; never enforced."""
    pack = deps.policies.shadow(surface)
    if pack is None or stage not in pack.stages:
        return None
    shadow = pack.decide(stage, signals, job_id=job_id)
    deps.store.append(
        EventDraft(
            job_id=job_id,
            stage=stage,
            kind=SHADOW_KIND,
            action=shadow.action,
            policy_version=shadow.policy_version,
            decision_id=shadow.decision_id,
            reasons=shadow.reasons,
            payload={
                "active_action": active.action,
                "active_version": active.policy_version,
                "active_decision_id": active.decision_id,
                "rules_fired": list(shadow.rules_fired),
                "agrees": shadow.action == active.action,
                "surface": surface,
            },
        )
    )
    return shadow


def shadow_report(deps: StageDeps, *, since: datetime | None = None) -> dict[str, Any]:
    """Agreement rate, actions that would change (active -> shadow) and the rules responsible."""
    total = agreed = 0
    changes: Counter[tuple[str, str, str]] = Counter()
    rules: Counter[str] = Counter()
    versions: set[str] = set()
    for event in deps.store.iter_events(AuditQuery(kind=SHADOW_KIND, since=since, limit=PAGE)):
        total += 1
        versions.add(event.policy_version or "")
        active = str(event.payload.get("active_action"))
        if event.payload.get("agrees"):
            agreed += 1
            continue
        changes[(event.stage, active, str(event.action))] += 1
        rules.update(event.payload.get("rules_fired") or ["(default action)"])
    return {
        "shadow_versions": sorted(versions),
        "decisions": total,
        "agreed": agreed,
        "agreement_rate": agreed / total if total else None,
        "changes": [
            {"stage": stage, "from": old, "to": new, "count": n}
            for (stage, old, new), n in changes.most_common()
        ],
        "rules": [{"rule": rule, "count": n} for rule, n in rules.most_common()],
    }
