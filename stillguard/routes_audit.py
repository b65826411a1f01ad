"""Routes for reviewers: the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from audit.store import AuditQuery

from .api_deps import Caller, Services, require, services

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit")
def audit(
    _: Annotated[Caller, Depends(require("reviewer"))],
    svc: Annotated[Services, Depends(services)],
    job: str | None = None,
    stage: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: int | None = None,
) -> dict[str, Any]:
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
    rows = [e.to_dict() for e in events]
    return {"events": rows, "next_after": rows[-1]["seq"] if len(rows) == limit else None}
