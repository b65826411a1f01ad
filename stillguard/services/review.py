"""The human review queue: held jobs, and a reviewer's decision that resumes or ends them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from audit.claims import ClaimHeld, ClaimRecord, NotClaimable
from audit.records import EventDraft, OutgoingMessage
from audit.store import JobRecord, StaleJobState
from policies.decision import Decision
from streams.messages import ClipCleared, InputCleared, JobCompleted, StreamMessage

from ..blobs import BlobError
from ..blobs.refs import is_job_id
from ..container import StageDeps
from ..errors import Conflict, InvalidInput, NotFound, StillguardError
from ..metrics import JOBS_ENDED
from ..pipeline.records import discard_unless_appealable, generated_clip, outgoing
from ..pipeline.webhooks import webhook_delivery
from .abuse import record_outcome

REVIEW_ACTIONS = ("approve", "block")
CLAIM_TTL_S = 600.0


def claim(deps: StageDeps, job_id: str, reviewer: str, ttl_s: float = CLAIM_TTL_S) -> ClaimRecord:
    """Hold a job for `ttl_s` seconds so no other reviewer decides it meanwhile (audited)."""
    try:
        return deps.store.claim_review(job_id, reviewer, ttl_s=ttl_s)
    except ClaimHeld as exc:
        raise _claimed_by_other(exc) from exc
    except NotClaimable as exc:
        if exc.status is None:
            raise NotFound("not_found", f"no job {job_id}") from exc
        raise Conflict("not_held", f"job {job_id} is {exc.status}, not held for review") from exc


def _claimed_by_other(exc: ClaimHeld) -> Conflict:
    held = exc.claim
    return Conflict(
        "claimed",
        f"job {held.job_id} is claimed by reviewer {held.reviewer} until "
        f"{held.expires_at.isoformat()}",
    )


def _decided_by(job: JobRecord | None) -> str:
    decider = next(
        (d for d in reversed((job.decisions if job else None) or []) if "reviewer" in d), None
    )
    return f"reviewer {decider['reviewer']}" if decider else "the pipeline"


def refused_attempt(
    deps: StageDeps,
    job_id: str,
    action: str,
    why: StillguardError,
    *,
    kind: str = "review.refused",
    **actor: str,
) -> None:
    """Audit a step that was refused (a decision that lost, a second appeal), so the log shows
    who tried what and why it was refused; `actor` is e.g. reviewer=key_id."""
    deps.store.append(
        EventDraft(
            job_id=job_id,
            stage="review",
            kind=kind,
            action=action,
            reasons=[why.message],
            payload={**actor, "code": why.code},
        )
    )


def held_jobs(deps: StageDeps, limit: int = 100) -> list[dict[str, Any]]:
    """Jobs waiting for a reviewer, oldest first, with the decision that held them."""
    queue = []
    now = datetime.now(UTC)
    for job in deps.store.list_jobs(status="held", limit=limit, oldest_first=True):
        held = _held_decision(job)
        claimed = deps.store.review_claim(job.id)
        queue.append(
            {
                "job_id": job.id,
                "created_at": job.to_dict()["created_at"],
                "age_s": round((now - job.created_at).total_seconds(), 1),
                "stage": held.get("stage"),
                "reasons": held.get("reasons", []),
                "policy_version": held.get("policy_version"),
                "prompt": job.prompt,
                "claimed_by": claimed.reviewer if claimed else None,
                "appeal": bool(held.get("appeal")),
            }
        )
    return queue


def _held_decision(job: JobRecord) -> dict[str, Any]:
    return next((d for d in reversed(job.decisions or []) if d.get("action") == "review"), {})


def decide(deps: StageDeps, job_id: str, *, action: str, reason: str, reviewer: str) -> JobRecord:
    """Record a reviewer's decision on a held job and resume it (approve) or refuse it (block).

    The reviewer's decision is an audit event of the held stage, so the next stages (which look up
    the latest decision of a stage) see it, and the audit log shows who decided what and why.
    """
    if action not in REVIEW_ACTIONS:
        raise InvalidInput("invalid_action", f"action must be one of {', '.join(REVIEW_ACTIONS)}")
    if not reason.strip():
        raise InvalidInput("reason_required", "a reviewer decision needs a reason")
    job = deps.store.get_job(job_id) if is_job_id(job_id) else None
    if job is None:
        raise NotFound("not_found", f"no job {job_id}")
    if job.status != "held":
        stale = Conflict(
            "not_held",
            f"job {job_id} is {job.status}, not held for review (decided by {_decided_by(job)})",
        )
        refused_attempt(deps, job.id, action, stale, reviewer=reviewer)
        raise stale
    held = _held_decision(job)
    if held.get("appeal") and held.get("first_decider") == reviewer:
        second = Conflict(
            "second_reviewer_required",
            f"job {job_id} is an appeal of your own decision; another reviewer decides it",
        )
        refused_attempt(deps, job.id, action, second, reviewer=reviewer)
        raise second
    if action == "approve" and _needs_second_approval(deps, job, held, reviewer):
        return _first_approval(deps, job, held, reviewer, reason)
    stage = held.get("stage", "input")
    decision_id = uuid.uuid4().hex
    # Built before anything is recorded: a job that cannot resume is refused, not left running.
    resume = _resume_message(deps, job, stage, decision_id) if action == "approve" else None
    decision = Decision(
        stage=stage,
        action="label" if action == "approve" else "block",
        reasons=(f"reviewer {reviewer}: {reason.strip()}",),
        policy_version=held.get("policy_version") or deps.policy.version,
        decision_id=decision_id,
    )
    decisions = [*(job.decisions or []), {**decision.to_dict(), "reviewer": reviewer}]
    if resume is None:
        update = {"status": "refused", "decisions": decisions, "error": "; ".join(decision.reasons)}
        messages: list[StreamMessage] = [JobCompleted(job_id=job.id, status="refused")]
        webhook = webhook_delivery(deps.store, job, "refused")
    else:
        update = {"status": "running", "decisions": decisions, "error": None}
        messages, webhook = [resume], []
    _write_review(
        deps,
        job,
        reviewer,
        action,
        decision,
        kind="decision",
        payload={
            "reviewer": reviewer,
            "review_action": action,
            "overrides_decision_id": held.get("decision_id"),
            "appeal": bool(held.get("appeal")),
        },
        job_update=update,
        outbox=outgoing(*messages) + webhook,
    )
    # A reviewer's block is a refusal of the key; an approval overturns any earlier one.
    record_outcome(deps.store, job.id, refused=resume is None)
    if resume is None:
        JOBS_ENDED.labels(status="refused").inc()
        discard_unless_appealable(deps, job.id)
    return deps.store.get_job(job.id) or job


def _needs_second_approval(
    deps: StageDeps, job: JobRecord, held: dict[str, Any], reviewer: str
) -> bool:
    """Two-person rule: overturning an automated block (on appeal) needs two reviewers."""
    automated_block = held.get("appeal") and held.get("first_decider") is None
    if not (deps.settings.review_two_person_rule and automated_block):
        return False
    first = held.get("first_approval_by")
    if first == reviewer:
        raise Conflict(
            "second_reviewer_required",
            f"job {job.id}: you approved already; overturning an automated block needs a "
            "second reviewer",
        )
    return first is None


def _first_approval(
    deps: StageDeps, job: JobRecord, held: dict[str, Any], reviewer: str, reason: str
) -> JobRecord:
    """Record the first of two approvals; the job stays held for a second reviewer."""
    decision = Decision(
        stage=held.get("stage", "input"),
        action="review",
        reasons=(f"reviewer {reviewer} approves: {reason.strip()}; a second reviewer confirms",),
        policy_version=held.get("policy_version") or deps.policy.version,
        decision_id=uuid.uuid4().hex,
    )
    vote = {**held, **decision.to_dict(), "first_approval_by": reviewer}
    _write_review(
        deps,
        job,
        reviewer,
        "approve",
        decision,
        kind="review.first_approval",
        payload={"reviewer": reviewer, "review_action": "approve", "appeal": True},
        job_update={"decisions": [*(job.decisions or []), vote]},
        outbox=[],
    )
    return deps.store.get_job(job.id) or job


def _write_review(
    deps: StageDeps,
    job: JobRecord,
    reviewer: str,
    action: str,
    decision: Decision,
    *,
    kind: str,
    payload: dict[str, Any],
    job_update: dict[str, Any],
    outbox: list[OutgoingMessage],
) -> None:
    """Record a reviewer's step as a compare-and-set on the job's state and on the claim."""
    try:
        deps.store.append(
            EventDraft(
                job_id=job.id,
                stage=decision.stage,
                kind=kind,
                action=decision.action,
                policy_version=decision.policy_version,
                decision_id=decision.decision_id,
                reasons=list(decision.reasons),
                payload=payload,
            ),
            job_update=job_update,
            expect_status={"held"},  # compare-and-set: two reviewers never both decide
            expect_claim=reviewer,  # ... and never one whose claim lapsed to another
            outbox=outbox,
        )
    except StaleJobState as exc:
        stale = Conflict(
            "not_held",
            f"job {job.id} is {exc.status}: another decision came first "
            f"(decided by {_decided_by(deps.store.get_job(job.id))})",
        )
        refused_attempt(deps, job.id, action, stale, reviewer=reviewer)
        raise stale from exc
    except ClaimHeld as exc:
        conflict = _claimed_by_other(exc)
        refused_attempt(deps, job.id, action, conflict, reviewer=reviewer)
        raise conflict from exc


def _resume_message(deps: StageDeps, job: JobRecord, stage: str, decision_id: str) -> StreamMessage:
    if stage == "input":
        return InputCleared(job_id=job.id, decision_id=decision_id)
    generated = generated_clip(deps, job.id)
    if generated is None:
        raise Conflict("cannot_resume", f"job {job.id} has no generated clip to resume")
    try:  # an output refusal's clip is kept only while it may be appealed
        with deps.blobs.local_copy(generated.clip_blob):
            pass
    except BlobError as exc:
        raise Conflict(
            "cannot_resume",
            f"job {job.id}'s clip is no longer kept; block to uphold the refusal, and the "
            "submitter may submit the photo again",
        ) from exc
    fields = generated.message(job.id).model_dump(exclude={"schema_version"})
    return ClipCleared(**fields, decision_id=decision_id)
