"""Routes for reviewers: the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from audit.store import AuditQuery

from ...services.input_limits import MAX_QUERY_CHARS, SAFE_TEXT_PATTERN
from ..deps import ReviewerDep, ServicesDep
from ..errors import error_answers
from ..schemas import AuditEvent, AuditPage

router = APIRouter(prefix="/v1", tags=["audit"])
MAX_SEQ = 2**63 - 1  # BIGINT
SafeText = Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, pattern=SAFE_TEXT_PATTERN)]


@router.get("/audit", summary="Query the audit log", responses=error_answers(400, 401, 403))
def audit(
    _: ReviewerDep,
    svc: ServicesDep,
    job: SafeText = None,
    stage: SafeText = None,
    action: SafeText = None,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: SafeText = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="keyset cursor: events after this seq")
    ] = None,
) -> AuditPage:
    """Events filtered by job, stage, action, time and policy version, oldest first, paged."""
    events = svc.store.events(
        AuditQuery(
            job_id=job,
            stage=stage,
            action=action,
            since=since,
            until=until,
            policy_version=policy,
            limit=limit,
            after_seq=after,
        )
    )
    rows = [AuditEvent(**e.to_dict()) for e in events]
    return AuditPage(events=rows, next_after=rows[-1].seq if len(rows) == limit else None)
