"""Submission history per key: what each key submitted and when it was refused.

The abuse-over-time signals (refusals per window, near-duplicates of a refused photo,
paraphrases of a refused prompt, option changes after a refusal, submission rate) and the
per-key quotas read it. It holds compact forms only (PDQ hash, int8 prompt embedding) and is
purged after its own retention; the audit chain keeps the decisions themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from audit.models import SubmissionHistory
from audit.records import record_of, utc_now


@dataclass(frozen=True)
class SubmissionRecord:
    """One job as its key's history remembers it."""

    job_id: str
    submitter: str
    surface: str
    submitted_at: datetime
    options: dict[str, Any]
    photo_pdq: bytes | None
    prompt_vector: bytes | None
    refused_at: datetime | None


class SubmissionLog:
    """Record submissions, their fingerprints and refusals; read one key's recent window."""

    def __init__(self, reader: sessionmaker[Session], writer: sessionmaker[Session]) -> None:
        self._reader = reader
        self._writer = writer

    def record(
        self,
        job_id: str,
        submitter: str,
        surface: str,
        options: dict[str, Any],
        submitted_at: datetime,
        *,
        photo_pdq: bytes | None = None,
        prompt_vector: bytes | None = None,
    ) -> None:
        """Remember a job of `submitter`, with `photo_pdq` and `prompt_vector` once known.

        Intake and the input gate both call it, in either order (the gate may run before
        intake's call returns): the first creates the row, later calls add fingerprints.
        """
        for _ in range(2):  # a concurrent first call wins the insert; this one then updates
            try:
                with self._writer.begin() as session:
                    row = session.get(SubmissionHistory, job_id)
                    if row is None:
                        row = SubmissionHistory(
                            job_id=job_id,
                            submitter=submitter,
                            surface=surface,
                            submitted_at=submitted_at,
                            options=dict(options),
                        )
                        session.add(row)
                    if photo_pdq is not None:
                        row.photo_pdq = photo_pdq
                    if prompt_vector is not None:
                        row.prompt_vector = prompt_vector
                return
            except IntegrityError:
                continue

    def mark_refused(self, job_id: str, refused: bool) -> None:
        """Count the job as refused from now, or no longer (a refusal overturned on appeal)."""
        with self._writer.begin() as session:
            session.execute(
                update(SubmissionHistory)
                .where(SubmissionHistory.job_id == job_id)
                .values(refused_at=utc_now() if refused else None)
            )

    def since(self, submitter: str, surface: str, since: datetime) -> list[SubmissionRecord]:
        """The key's submissions on `surface` from `since` on, oldest first."""
        statement = (
            select(SubmissionHistory)
            .where(
                SubmissionHistory.submitter == submitter,
                SubmissionHistory.surface == surface,
                SubmissionHistory.submitted_at >= since,
            )
            .order_by(SubmissionHistory.submitted_at, SubmissionHistory.job_id)
        )
        with self._reader() as session:
            return [
                record_of(SubmissionRecord, row, options=dict(row.options or {}))
                for row in session.scalars(statement)
            ]

    def count_since(self, submitter: str, since: datetime) -> int:
        """How many jobs the key submitted from `since` on (one indexed count)."""
        statement = select(func.count()).where(
            SubmissionHistory.submitter == submitter, SubmissionHistory.submitted_at >= since
        )
        with self._reader() as session:
            return int(session.scalar(statement) or 0)

    def nth_since(self, submitter: str, since: datetime, n: int) -> datetime | None:
        """When the key's `n`-th submission (0 = the oldest) from `since` on was made."""
        statement = (
            select(SubmissionHistory.submitted_at)
            .where(
                SubmissionHistory.submitter == submitter, SubmissionHistory.submitted_at >= since
            )
            .order_by(SubmissionHistory.submitted_at)
            .offset(n)
            .limit(1)
        )
        with self._reader() as session:
            return session.scalar(statement)

    def purge(self, before: datetime) -> int:
        """Forget every submission made before `before`; returns how many were forgotten."""
        with self._writer.begin() as session:
            result = session.execute(
                delete(SubmissionHistory).where(SubmissionHistory.submitted_at < before)
            )
            return int(result.rowcount or 0)
