"""The outbox: messages committed with their causes, claimed and sent by relays, retried, parked.

A row is `pending` until a relay sends it (`sent`) or gives up on it (`dead`, a dead letter an
operator can list and replay). A relay claims rows for a while; if it dies, the claim expires and
another relay claims them again, so a message is sent at least once and never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from audit.models import OutboxMessage
from audit.records import OutboxRecord, OutgoingMessage, utc_now

MAX_ERROR_CHARS = 2000


class Outbox:
    """Claims, completions, retries and dead letters of outbox rows."""

    def __init__(self, reader: sessionmaker[Session], writer: sessionmaker[Session]) -> None:
        self._reader = reader
        self._writer = writer

    def claim(
        self,
        owner: str,
        *,
        lease_s: float,
        limit: int = 32,
        topics: Sequence[str] | None = None,
        exclude_topics: Sequence[str] = (),
        job_id: str | None = None,
    ) -> list[OutboxRecord]:
        """Take up to `limit` due rows (oldest first) for `lease_s` seconds; attempts count up.

        Due: pending, available now, and not claimed by a live relay. On PostgreSQL rows another
        relay is claiming are skipped (SKIP LOCKED); SQLite serialises writers.
        """
        now = utc_now()
        statement = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.available_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if topics is not None:
            statement = statement.where(OutboxMessage.topic.in_(list(topics)))
        if exclude_topics:
            statement = statement.where(OutboxMessage.topic.not_in(list(exclude_topics)))
        if job_id is not None:
            statement = statement.where(OutboxMessage.job_id == job_id)
        with self._writer.begin() as session:
            rows = list(session.scalars(statement))
            for row in rows:
                row.claimed_by = owner
                row.claimed_until = now + timedelta(seconds=lease_s)
                row.attempts += 1
            return [row.to_record() for row in rows]

    def extend(self, ids: Sequence[int], owner: str, *, lease_s: float) -> None:
        """Keep holding claimed rows while their work goes on (a heartbeat)."""
        if not ids:
            return
        with self._writer.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == owner)
                .values(claimed_until=utc_now() + timedelta(seconds=lease_s))
            )

    def complete(self, row_id: int, owner: str) -> None:
        """Mark a claimed row sent."""
        with self._writer.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == owner)
                .values(status="sent", sent_at=utc_now(), claimed_until=None)
            )

    def retry_later(
        self, row_id: int, owner: str, *, error: str, delay_s: float, count: bool = True
    ) -> None:
        """Hand a row back after a failed send; it is due again after `delay_s` (backoff).

        `count=False` takes the try back: the transport was down, the message is not at fault.
        """
        attempts = OutboxMessage.attempts if count else OutboxMessage.attempts - 1
        with self._writer.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == owner)
                .values(
                    claimed_by=None,
                    claimed_until=None,
                    attempts=attempts,
                    available_at=utc_now() + timedelta(seconds=delay_s),
                    last_error=error[:MAX_ERROR_CHARS],
                )
            )

    def bury(self, row_id: int, *, error: str) -> None:
        """Give up on a row: it becomes a dead letter, listed and replayable."""
        with self._writer.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status="dead", claimed_until=None, last_error=error[:MAX_ERROR_CHARS])
            )

    def record_dead(self, message: OutgoingMessage, *, error: str, attempts: int) -> None:
        """Keep a message a consumer gave up on, so it can be listed and replayed like the rest."""
        now = utc_now()
        with self._writer.begin() as session:
            session.add(
                OutboxMessage(
                    topic=message.topic,
                    job_id=message.job_id,
                    payload=dict(message.payload),
                    headers=dict(message.headers) or None,
                    status="dead",
                    attempts=attempts,
                    created_at=now,
                    available_at=now,
                    last_error=error[:MAX_ERROR_CHARS],
                )
            )

    def dead_letters(self, topic: str | None = None, limit: int = 100) -> list[OutboxRecord]:
        """Rows given up on, oldest first, optionally of one topic."""
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "dead")
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if topic is not None:
            statement = statement.where(OutboxMessage.topic == topic)
        with self._reader() as session:
            return [row.to_record() for row in session.scalars(statement)]

    def replay(self, row_ids: Sequence[int]) -> int:
        """Make dead letters pending again with fresh attempts; returns how many."""
        with self._writer.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.status == "dead")
                .values(
                    status="pending",
                    attempts=0,
                    available_at=utc_now(),
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            return int(result.rowcount or 0)

    def unsent_for(self, job_id: str) -> int:
        """How many of a job's messages are still pending (claimed or not)."""
        with self._reader() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.job_id == job_id, OutboxMessage.status == "pending")
                )
                or 0
            )

    def pending(self) -> int:
        """How many messages wait to be sent (the relay's lag)."""
        with self._reader() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "pending")
                )
                or 0
            )
