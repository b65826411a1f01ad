"""Routes for reviewers: the queue of held jobs and the decisions that resume or end them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...services.review import claim, decide, held_jobs
from ..deps import ReviewerDep, ServicesDep
from ..errors import error_answers
from ..schemas import ReviewClaim, ReviewDecision, ReviewOutcome, ReviewQueue

router = APIRouter(prefix="/v1", tags=["reviews"])


@router.get("/reviews", summary="The review queue", responses=error_answers(401, 403))
def list_reviews(
    _: ReviewerDep, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> ReviewQueue:
    """Jobs held for a human, with the decision that held them."""
    return ReviewQueue.model_validate({"reviews": held_jobs(svc.deps, limit=limit)})


@router.post(
    "/reviews/{job_id}/claim",
    summary="Claim a held job",
    responses=error_answers(401, 403, 404, 409),
)
def claim_review(job_id: str, who: ReviewerDep, svc: ServicesDep) -> ReviewClaim:
    """Hold the job for a while so no other reviewer decides it; 409 names who holds it."""
    return ReviewClaim.model_validate(claim(svc.deps, job_id, who.key_id).to_dict())


@router.post(
    "/reviews/{job_id}/decision",
    summary="Decide a held job",
    responses=error_answers(400, 401, 403, 404, 409),
)
def decide_review(
    job_id: str, body: ReviewDecision, who: ReviewerDep, svc: ServicesDep
) -> ReviewOutcome:
    """Approve (the job resumes) or block (it is refused), with a reason that is audited."""
    job = decide(svc.deps, job_id, action=body.action, reason=body.reason, reviewer=who.key_id)
    return ReviewOutcome(job_id=job.id, status=job.status, decisions=list(job.decisions))
