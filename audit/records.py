"""Plain, frozen records the audit store hands out: never ORM objects, always JSON-ready."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

JOB_STATUSES: tuple[str, ...] = ("submitted", "running", "published", "refused", "held", "failed")
API_KEY_ROLES: tuple[str, ...] = ("submitter", "reviewer", "admin")
TERMINAL_JOB_STATUSES = frozenset({"published", "refused", "held", "failed"})
OUTBOX_STATUSES: tuple[str, ...] = ("pending", "sent", "dead")

# The most rows one query may return; larger asks are refused (page with after_seq instead).
MAX_QUERY_LIMIT = 10_000
# The surface a job is decided on when its submitter names none (policy packs per surface).
DEFAULT_SURFACE = "default"


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds: the one timestamp spelling used in JSON and in hashes."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC: the only clock the audit tables are written with."""
    return datetime.now(UTC)


# Field metadata for what `json_fields` leaves out (bodies and internals):
# `body: str = field(metadata=NOT_IN_JSON)`.
NOT_IN_JSON: Mapping[str, Any] = MappingProxyType({"json": False})


def json_fields(record: DataclassInstance, *, omit: Collection[str] = ()) -> dict[str, Any]:
    """A record's fields in declaration order, JSON-ready: timestamps through `iso_utc`, tuples
    as lists, mappings copied. Fields marked NOT_IN_JSON, and those named in `omit`, are
    left out of the answer."""
    return {
        f.name: _json_value(getattr(record, f.name))
        for f in fields(record)
        if f.name not in omit and f.metadata.get("json", True)
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, tuple | list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


class JsonRecord:
    """Base of the frozen records that answer in JSON (API answers, the CLI's `--json`): their
    fields in declaration order through `json_fields`, less those marked NOT_IN_JSON."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the record."""
        return json_fields(cast("DataclassInstance", self))


Record = TypeVar("Record", bound="DataclassInstance")


def record_of(record_type: type[Record], source: object, **converted: Any) -> Record:
    """A frozen record whose fields are copied from the same-named attributes of `source` (a
    row or a draft), except those given already `converted` (detached copies of JSON columns)."""
    names = [f.name for f in fields(record_type) if f.name not in converted]
    return record_type(**{name: getattr(source, name) for name in names}, **converted)


@dataclass(frozen=True)
class JobRecord(JsonRecord):
    """One generation job as recorded: what was asked, where it stands, what was decided."""

    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    submitter: str
    idempotency_key: str | None
    request_sha256: str
    prompt: str | None
    options: dict[str, Any]
    input_blob: str
    output_blob: str | None
    error: str | None
    decisions: tuple[dict[str, Any], ...]
    callback_url: str | None = field(default=None, metadata=NOT_IN_JSON)
    blobs_expired_at: datetime | None = field(default=None, metadata=NOT_IN_JSON)
    surface: str = DEFAULT_SURFACE  # whose policy packs decide the job


@dataclass(frozen=True)
class EventRecord(JsonRecord):
    """One link of the audit chain: what happened to which job, and the hashes that pin it."""

    seq: int
    event_id: str
    job_id: str | None
    stage: str
    kind: str
    action: str | None
    policy_version: str | None
    decision_id: str | None
    reasons: tuple[str, ...]
    signals: tuple[dict[str, Any], ...]
    payload: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ApiKeyRecord(JsonRecord):
    """An API key's identity and role; the secret (and even its hash) never leaves the store."""

    id: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


@dataclass(frozen=True)
class AuditQuery:
    """Reviewer filters over the audit log; results come in chain order, paged by `after_seq`.

    `since` is inclusive and `until` exclusive, so consecutive windows never double-count;
    naive datetimes are taken as UTC. `limit` is 1..MAX_QUERY_LIMIT.
    """

    job_id: str | None = None
    stage: str | None = None
    action: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    policy_version: str | None = None
    limit: int = 100
    after_seq: int | None = None


@dataclass(frozen=True)
class ChainReport(JsonRecord):
    """Outcome of walking the whole hash chain from the first event."""

    intact: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None


@dataclass(frozen=True)
class EventDraft:
    """An audit event to append: what happened to which job, and why."""

    job_id: str | None
    stage: str
    kind: str
    action: str | None = None
    policy_version: str | None = None
    decision_id: str | None = None
    reasons: Sequence[str] = ()
    signals: Sequence[dict[str, Any]] = ()
    payload: dict[str, Any] | None = None
    event_id: str | None = None

    @classmethod
    def without_job(
        cls,
        stage: str,
        kind: str,
        action: str,
        reason: str,
        payload: dict[str, Any],
        *,
        policy_version: str | None = None,
    ) -> EventDraft:
        """An event that belongs to no job (an admin's change, an operator's replay, a refused
        request): what was done, one reason a person reads, and the payload that pins it."""
        return cls(None, stage, kind, action, policy_version, reasons=[reason], payload=payload)


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send once the transaction that records its cause commits (the outbox)."""

    topic: str
    job_id: str
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OutboxRecord(OutgoingMessage, JsonRecord):
    """An outbox row: the message, whether it was sent, and how often sending was tried."""

    headers: dict[str, str] = field(
        default_factory=dict, metadata=NOT_IN_JSON
    )  # trace context, for the relay
    id: int
    status: str
    attempts: int
    created_at: datetime
    last_error: str | None


@dataclass(frozen=True)
class JobLease:
    """A stage's hold on a job: who, which stage, until when, and the how-many-th try this is."""

    job_id: str
    stage: str
    owner: str
    attempt: int
