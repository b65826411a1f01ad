"""Reviewers' claims on held jobs: one live claim per job, checked and ended by the decision.

A claim is taken in the same transaction as its audit event; deciding checks the claim in the
transaction that records the decision, so a reviewer whose claim lapsed to another loses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from audit.models import Job, ReviewClaim
from audit.records import EventDraft, record_of


@dataclass(frozen=True)
class ClaimRecord:
    """Who holds a job for review, and until when."""

    job_id: str
    reviewer: str
    claimed_at: datetime
    expires_at: datetime

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-ready form."""
        return {
            "job_id": self.job_id,
            "reviewer": self.reviewer,
            "claimed_at": self.claimed_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


class ClaimHeld(Exception):
    """Another reviewer holds a live claim on the job."""

    def __init__(self, claim: ClaimRecord) -> None:
        super().__init__(f"job {claim.job_id} is claimed by {claim.reviewer}")
        self.claim = claim


class NotClaimable(Exception):
    """The job is not waiting for a reviewer (or does not exist)."""

    def __init__(self, job_id: str, status: str | None) -> None:
        super().__init__(f"job {job_id} is {status or 'unknown'}, not held")
        self.job_id, self.status = job_id, status


def _record(row: ReviewClaim) -> ClaimRecord:
    return record_of(ClaimRecord, row)


def live_claim(session: Session, job_id: str, now: datetime) -> ClaimRecord | None:
    """The job's claim while it has not expired."""
    row = session.get(ReviewClaim, job_id)
    return _record(row) if row is not None and row.expires_at > now else None


def claim_in(
    session: Session, job_id: str, reviewer: str, ttl_s: float
) -> tuple[ClaimRecord, EventDraft]:
    """Take (or renew) the claim inside a write transaction: the claim and its audit event."""
    now = datetime.now(UTC)
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "held":
        raise NotClaimable(job_id, job.status if job else None)
    held = live_claim(session, job_id, now)
    if held is not None and held.reviewer != reviewer:
        raise ClaimHeld(held)
    row = session.get(ReviewClaim, job_id) or ReviewClaim(job_id=job_id)
    row.reviewer, row.claimed_at = reviewer, now
    row.expires_at = now + timedelta(seconds=ttl_s)
    session.add(row)
    session.flush()
    claim = _record(row)
    draft = EventDraft(
        job_id=job_id,
        stage="review",
        kind="review.claimed",
        action="claim",
        payload={"reviewer": reviewer, "expires_at": claim.expires_at.isoformat()},
    )
    return claim, draft


def release_for_decision(session: Session, job_id: str, reviewer: str) -> None:
    """Compare-and-set before a decision: refuse it while another holds a live claim; end any."""
    held = live_claim(session, job_id, datetime.now(UTC))
    if held is not None and held.reviewer != reviewer:
        raise ClaimHeld(held)
    row = session.get(ReviewClaim, job_id)
    if row is not None:
        session.delete(row)
