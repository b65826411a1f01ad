"""SQLAlchemy 2 models of the audit database; the schema itself is owned by `migrations/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from audit.records import (
    API_KEY_ROLES,
    DEFAULT_SURFACE,
    JOB_STATUSES,
    OUTBOX_STATUSES,
    ApiKeyRecord,
    EventRecord,
    JobRecord,
    OutboxRecord,
    record_of,
)

# A surface's pack that decides, and the one that only runs beside it (shadow mode).
POLICY_ROLES: tuple[str, ...] = ("active", "shadow")

# JSONB on PostgreSQL so reviewers can query inside signals and payloads; plain JSON elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")
# BIGSERIAL on PostgreSQL; INTEGER on SQLite, the only type that aliases the rowid.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base of every audit table."""


class Job(Base):
    """A photo-to-video job from submission to its final status."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("submitter", "idempotency_key", name="uq_jobs_submitter_idempotency_key"),
        CheckConstraint(_one_of("status", JOB_STATUSES), name="ck_jobs_status"),
        Index("ix_jobs_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitter: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    input_blob: Mapped[str] = mapped_column(String(512))
    output_blob: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    # The stage working on the job holds a lease; an expired one means its worker died.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_stage: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    blobs_expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # retention
    # Whose policy packs decide the job (the submitting service names it; 0006_job_surface).
    surface: Mapped[str] = mapped_column(
        String(64), server_default=DEFAULT_SURFACE, default=DEFAULT_SURFACE
    )

    def to_record(self) -> JobRecord:
        """A detached, frozen copy for callers outside the session."""
        return record_of(
            JobRecord, self, options=dict(self.options or {}), decisions=tuple(self.decisions or ())
        )


class AuditEvent(Base):
    """One append-only, hash-chained audit event; `seq` is the chain order."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_job_id", "job_id"),
        Index("ix_audit_events_stage_kind", "stage", "kind"),
        # Time windows in chain order, from either end (0009; audit.event_queries).
        Index("ix_audit_events_seq_created_at", "seq", "created_at"),
        Index("ix_audit_events_created_at_seq", "created_at", "seq"),
        # Reviewer queries: recent blocks, and one policy version's decisions (0004).
        Index("ix_audit_events_action_created_at", "action", "created_at"),
        Index("ix_audit_events_policy_version_seq", "policy_version", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(32))
    policy_version: Mapped[str | None] = mapped_column(String(64))
    decision_id: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSONDocument)
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def to_record(self) -> EventRecord:
        """A detached, frozen copy for callers outside the session."""
        return record_of(
            EventRecord,
            self,
            reasons=tuple(self.reasons),
            signals=tuple(self.signals),
            payload=dict(self.payload),
        )


class ApiKey(Base):
    """An API key: its role and the sha256 of its secret (the secret itself is never stored)."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_one_of("role", API_KEY_ROLES), name="ck_api_keys_role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def to_record(self) -> ApiKeyRecord:
        """A detached, frozen copy without the secret's hash."""
        return record_of(ApiKeyRecord, self)


class OutboxMessage(Base):
    """A message written in the same transaction as the record that causes it; a relay sends it.

    `pending` rows are claimed (claimed_by, claimed_until) by one relay at a time; an expired
    claim means that relay died, and the row is claimed again.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="ck_outbox_messages_status"),
        Index("ix_outbox_messages_status_available_at", "status", "available_at"),
        Index("ix_outbox_messages_job_id", "job_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)  # e.g. trace context
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    def to_record(self) -> OutboxRecord:
        """A detached, frozen copy for callers outside the session."""
        return record_of(
            OutboxRecord, self, payload=dict(self.payload), headers=dict(self.headers or {})
        )


class WebhookEndpoint(Base):
    """Where an API key's jobs report their final state (a job may name its own URL instead)."""

    __tablename__ = "webhook_endpoints"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditCheckpoint(Base):
    """A signed, time-stamped statement of the chain head (seq, hash, count) at one moment.

    `statement` is the canonical JSON that was signed; the other columns repeat its fields so
    they can be queried. See `audit.checkpoints` for what checkpoints make detectable.
    """

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_seq", "seq"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    statement: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    chain_pem: Mapped[str] = mapped_column(Text)
    time_stamp: Mapped[bytes] = mapped_column(LargeBinary)


class PolicyVersion(Base):
    """One uploaded policy pack, immutable: its YAML exactly as uploaded and its SHA-256."""

    __tablename__ = "policy_versions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(64))


class PolicyActivation(Base):
    """A switch of one surface's active (or shadow) pack; the newest row per surface wins.

    `version_id` NULL on a shadow row means the shadow pack was withdrawn.
    """

    __tablename__ = "policy_activations"
    __table_args__ = (
        CheckConstraint(_one_of("role", POLICY_ROLES), name="ck_policy_activations_role"),
        Index("ix_policy_activations_surface_role", "surface", "role", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    surface: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(8))
    version_id: Mapped[int | None] = mapped_column(SequenceNumber, ForeignKey("policy_versions.id"))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activated_by: Mapped[str] = mapped_column(String(64))


class HashBankVersion(Base):
    """One uploaded version of a known-bad hash bank; the newest version of each name is used."""

    __tablename__ = "hash_bank_versions"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_hash_bank_versions_name_version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    hashes: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(64))


class ReviewClaim(Base):
    """A reviewer's claim on a held job until `expires_at`: others cannot decide it meanwhile."""

    __tablename__ = "review_claims"

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("jobs.id"), primary_key=True)
    reviewer: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SubmissionHistory(Base):
    """One submission of a key, kept for the abuse-over-time signals (see `audit.history`).

    Only compact forms of what was submitted: the photo's PDQ hash (32 bytes) and the prompt's
    embedding quantised to int8, never prompt text. Purged after the history retention.
    """

    __tablename__ = "submission_history"
    __table_args__ = (
        Index("ix_submission_history_submitter_submitted_at", "submitter", "submitted_at"),
        Index("ix_submission_history_submitted_at", "submitted_at"),
    )

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submitter: Mapped[str] = mapped_column(String(64))
    surface: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    options: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    photo_pdq: Mapped[bytes | None] = mapped_column(LargeBinary)
    prompt_vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
