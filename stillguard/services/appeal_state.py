"""Where a refused job stands with its one appeal: the decision in force, the appeal and its
outcome, whether an appeal may still come, and so whether the unsigned clip must be kept.

Pure functions of the job record, shared by the appeals service, reviewer decisions and the
pipeline's clean-up (which must not delete a clip that an appeal could still bring back).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from audit.store import JobRecord

from ..settings import Settings

RESTRICTING_ACTIONS = ("block", "restrict")


def appeal_of(job: JobRecord) -> dict[str, Any] | None:
    """The job's appeal (there is at most one), with its outcome once decided."""
    decisions = list(job.decisions or [])
    at = next((i for i, d in enumerate(decisions) if d.get("appeal")), None)
    if at is None:
        return None
    appeal = decisions[at]
    settled = next((d for d in decisions[at + 1 :] if d.get("reviewer")), None)
    outcome = None
    if settled is not None:
        outcome = "overturned" if settled["action"] != "block" else "upheld"
    return {
        "text": appeal.get("appeal_text"),
        "status": outcome or "pending",
        "first_decider": appeal.get("first_decider"),
        "decided_by": settled.get("reviewer") if settled else None,
        "reasons": list(settled.get("reasons", [])) if settled else [],
    }


def deciding_decision(job: JobRecord) -> dict[str, Any] | None:
    """The last decision in force that refused, restricted or held (a stage's later decision,
    e.g. a reviewer's approval, replaces its earlier one)."""
    in_force = {d.get("stage"): d for d in job.decisions or []}
    actions = (*RESTRICTING_ACTIONS, "review")
    standing = [d for d in job.decisions or [] if d in in_force.values()]
    return next((d for d in reversed(standing) if d.get("action") in actions), None)


def may_still_appeal(job: JobRecord, settings: Settings, now: datetime | None = None) -> bool:
    """A refusal not yet appealed, within `STILLGUARD_APPEAL_WINDOW_DAYS` of being decided."""
    if job.status != "refused" or appeal_of(job) is not None:
        return False
    window = timedelta(days=settings.appeal_window_days)
    return (now or datetime.now(UTC)) - job.updated_at < window


def keeps_clip_for_appeal(job: JobRecord, settings: Settings) -> bool:
    """An output refusal keeps its unsigned clip while an appeal may still overturn it: the
    reviewer of the appeal must see it, and overturning signs that very clip."""
    decision = deciding_decision(job)
    return (
        decision is not None
        and decision.get("stage") == "output"
        and may_still_appeal(job, settings)
    )
