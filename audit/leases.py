"""Leases of jobs by the stage working on them: who holds one, until when, how many tries.

A stage takes the lease before it works on a job and renews it while it works. A lease that
expires means its worker died mid-job; the recovery sweeper hands the job on again, and after
too many tries at one stage the job fails with a reason instead of looping forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from audit.models import Job, OutboxMessage
from audit.records import JobLease, utc_now

ACTIVE_STATUSES = ("submitted", "running")
ENDED_STATUSES = ("published", "refused", "failed")  # held jobs wait for a reviewer: kept


class JobLeases:
    """Take, renew, release and find expired leases on jobs (compare-and-set updates)."""

    def __init__(self, reader: sessionmaker[Session], writer: sessionmaker[Session]) -> None:
        self._reader = reader
        self._writer = writer

    def take(self, job_id: str, stage: str, owner: str, *, ttl_s: float) -> JobLease | None:
        """Hold an active job for `stage`; None when another live holder has it or it ended.

        The attempt count goes up with every take at the same stage and starts at 1 at a new
        stage, so the caller can give up after N tries.
        """
        now = utc_now()
        with self._writer.begin() as session:
            result = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status.in_(ACTIVE_STATUSES),
                    or_(
                        Job.lease_owner.is_(None),
                        Job.lease_owner == owner,
                        Job.lease_expires_at < now,
                    ),
                )
                .values(
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=ttl_s),
                    attempts=case((Job.lease_stage == stage, Job.attempts + 1), else_=1),
                    lease_stage=stage,
                )
            )
            if result.rowcount != 1:
                return None
            attempts = session.scalar(select(Job.attempts).where(Job.id == job_id))
        return JobLease(job_id=job_id, stage=stage, owner=owner, attempt=int(attempts or 1))

    def renew(self, lease: JobLease, *, ttl_s: float) -> bool:
        """Extend a held lease (a heartbeat); False when it was lost to someone else."""
        with self._writer.begin() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == lease.job_id, Job.lease_owner == lease.owner)
                .values(lease_expires_at=utc_now() + timedelta(seconds=ttl_s))
            )
            return result.rowcount == 1

    def release(self, lease: JobLease) -> None:
        """Let go of a lease (the stage finished, failed, or its worker is stopping)."""
        with self._writer.begin() as session:
            session.execute(
                update(Job)
                .where(Job.id == lease.job_id, Job.lease_owner == lease.owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    def expire(self, job_id: str, owner: str) -> bool:
        """Clear a lease that ran out; True for the one sweeper that cleared it."""
        with self._writer.begin() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.lease_owner == owner, Job.lease_expires_at < utc_now())
                .values(lease_owner=None, lease_expires_at=None)
            )
            return result.rowcount == 1

    def expired(self, limit: int = 100) -> list[tuple[str, str, str]]:
        """Active jobs whose lease ran out: (job id, owner, stage)."""
        statement = (
            select(Job.id, Job.lease_owner, Job.lease_stage)
            .where(
                Job.status.in_(ACTIVE_STATUSES),
                Job.lease_owner.is_not(None),
                Job.lease_expires_at < utc_now(),
            )
            .limit(limit)
        )
        with self._reader() as session:
            return [(row[0], row[1], row[2]) for row in session.execute(statement)]

    def stalled(self, idle_s: float, limit: int = 100) -> list[str]:
        """Active jobs nobody holds, with no message waiting, and no change for `idle_s`."""
        waiting = exists().where(OutboxMessage.job_id == Job.id, OutboxMessage.status == "pending")
        statement = (
            select(Job.id)
            .where(
                Job.status.in_(ACTIVE_STATUSES),
                Job.lease_owner.is_(None),
                Job.updated_at < utc_now() - timedelta(seconds=idle_s),
                ~waiting,
            )
            .limit(limit)
        )
        with self._reader() as session:
            return list(session.scalars(statement))

    def touch(self, job_id: str) -> None:
        """Mark a job as handled now (its stall clock restarts)."""
        with self._writer.begin() as session:
            session.execute(update(Job).where(Job.id == job_id).values(updated_at=utc_now()))

    def expired_by_retention(
        self, before: datetime, limit: int = 100
    ) -> list[tuple[str, str, str | None]]:
        """Ended jobs last changed before `before` whose blobs are still kept:
        (job id, input blob, output blob)."""
        statement = (
            select(Job.id, Job.input_blob, Job.output_blob)
            .where(
                Job.status.in_(ENDED_STATUSES),
                Job.updated_at < before,
                Job.blobs_expired_at.is_(None),
            )
            .limit(limit)
        )
        with self._reader() as session:
            return [(row[0], row[1], row[2]) for row in session.execute(statement)]

    def input_still_kept(self, input_blob: str, before: datetime) -> bool:
        """Whether a job inside retention (or not ended) still uses this content-addressed photo."""
        statement = select(Job.id).where(
            Job.input_blob == input_blob,
            or_(Job.updated_at >= before, Job.status.not_in(ENDED_STATUSES)),
        )
        with self._reader() as session:
            return session.scalar(statement.limit(1)) is not None
