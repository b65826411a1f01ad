"""Routes for reviewers: the queue of held jobs and the decisions that resume or end them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from .api_deps import ApiError, Caller, Services, require, services
from .review import REVIEW_ACTIONS, decide, held_jobs
from .wiring import BadRequest

router = APIRouter(prefix="/v1", tags=["reviews"])


class ReviewDecision(BaseModel):
    """A reviewer's decision: approve resumes the job, block refuses it; the reason is audited."""

    action: str = Field(description=f"one of {', '.join(REVIEW_ACTIONS)}")
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/reviews")
def list_reviews(
    _: Annotated[Caller, Depends(require("reviewer"))],
    svc: Annotated[Services, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return {"reviews": held_jobs(svc.deps, limit=limit)}


@router.post("/reviews/{job_id}/decision")
def decide_review(
    job_id: str,
    body: ReviewDecision,
    who: Annotated[Caller, Depends(require("reviewer"))],
    svc: Annotated[Services, Depends(services)],
) -> dict[str, Any]:
    try:
        job = decide(
            svc.request_deps(), job_id, action=body.action, reason=body.reason, reviewer=who.key_id
        )
    except BadRequest as exc:
        raise ApiError(exc.http_status, exc.code, str(exc)) from exc
    return {"job_id": job.id, "status": job.status, "decisions": job.decisions}
