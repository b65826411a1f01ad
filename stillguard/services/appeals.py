"""Statements of reasons for refused or restricted jobs (EU DSA Art. 17), and the one appeal.

A refused job's submitter may appeal once: the job goes back to the review queue marked as an
appeal, and a reviewer other than the one who decided first settles it (`review.decide`).
"""

from __future__ import annotations

import uuid
from typing import Any

from audit.records import EventDraft
from audit.store import JobRecord, StaleJobState

from ..container import StageDeps
from ..errors import Conflict, Forbidden, InvalidInput
from .appeal_state import (
    appeal_of,
    deciding_decision,
    may_still_appeal,
)
from .review import refused_attempt
from .review_media import reviewable_job

MAX_APPEAL_CHARS = 4000
WHAT_ACTION_MEANS = {
    "block": "refusal: no clip was published for this request",
    "restrict": "restriction: the clip was published with limited motion of real people",
    "review": "pending: a human reviewer is deciding",
}
OTHER_REDRESS = (
    "You may also refer this decision to a certified out-of-court dispute settlement body "
    "or seek judicial redress under the law that applies to you."
)


def statement_of_reasons(deps: StageDeps, job_id: str) -> dict[str, Any]:
    """What was decided on a job, on which facts and rules, by whom, and how to contest it."""
    job = reviewable_job(deps, job_id)
    decision = deciding_decision(job)
    if decision is None:
        raise Conflict("no_restriction", f"job {job_id} is {job.status}; nothing was restricted")
    human = bool(decision.get("reviewer"))
    appeal = appeal_of(job)
    return {
        "job_id": job.id,
        "status": job.status,
        "decision": {
            "action": decision["action"],
            "stage": decision.get("stage"),
            "decision_id": decision.get("decision_id"),
            "description": WHAT_ACTION_MEANS.get(decision["action"], decision["action"]),
        },
        "facts_and_circumstances": list(decision.get("reasons", [])),
        "automated_detection": True,
        "automated_decision": not human,
        "ground": {
            "kind": "terms of service (the content policy pack)",
            "policy_version": decision.get("policy_version"),
            "rules": list(decision.get("rules_fired", [])),
        },
        "redress": {
            "appeal": f"POST /v1/jobs/{job.id}/appeal with a text, once, by the submitter",
            "can_appeal": may_still_appeal(job, deps.settings),
            "other": OTHER_REDRESS,
        },
        "appeal": appeal,
    }


def appeal(deps: StageDeps, job_id: str, *, submitter: str, text: str) -> JobRecord:
    """Put a refused job back in the review queue as an appeal (once, by its submitter)."""
    job = reviewable_job(deps, job_id)
    if job.submitter != submitter:
        refusal = Forbidden("not_submitter", "only the job's submitter may appeal")
        refused_attempt(deps, job.id, "appeal", refusal, kind="appeal.refused", by=submitter)
        raise refusal
    text = text.strip()
    if not text or len(text) > MAX_APPEAL_CHARS:
        raise InvalidInput("invalid_appeal", f"an appeal needs 1-{MAX_APPEAL_CHARS} characters")
    if appeal_of(job) is not None:
        again = Conflict("already_appealed", f"job {job_id} was appealed already; one appeal each")
        refused_attempt(deps, job.id, "appeal", again, kind="appeal.refused", by=submitter)
        raise again
    decision = deciding_decision(job)
    if job.status != "refused" or decision is None:
        raise Conflict(
            "not_appealable", f"job {job_id} is {job.status}; only refusals are appealed"
        )
    if not may_still_appeal(job, deps.settings):
        days = deps.settings.appeal_window_days
        raise Conflict(
            "appeal_window_closed", f"job {job_id} was refused more than {days:g} days ago"
        )
    held = {
        "stage": decision.get("stage", "input"),
        "action": "review",
        "reasons": [f"appeal by the submitter: {text}"],
        "policy_version": decision.get("policy_version"),
        "decision_id": uuid.uuid4().hex,
        "rules_fired": [],
        "appeal": True,
        "appeal_text": text,
        "first_decider": decision.get("reviewer"),
        "appealed_decision_id": decision.get("decision_id"),
    }
    try:
        deps.store.append(
            EventDraft(
                job_id=job.id,
                stage=held["stage"],
                kind="appeal",
                action="review",
                policy_version=held["policy_version"],
                decision_id=held["decision_id"],
                reasons=held["reasons"],
                payload={
                    "submitter": submitter,
                    "appealed_decision_id": held["appealed_decision_id"],
                },
            ),
            job_update={"status": "held", "decisions": [*(job.decisions or []), held]},
            expect_status={"refused"},
        )
    except StaleJobState as exc:
        raise Conflict("already_appealed", f"job {job_id} is {exc.status} now") from exc
    return deps.store.get_job(job.id) or job
