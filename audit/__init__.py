"""Append-only, hash-chained audit events, jobs and API keys, stored through SQLAlchemy."""

from audit.chain import GENESIS_HASH, canonical_json, chain_hash
from audit.records import (
    API_KEY_ROLES,
    JOB_STATUSES,
    ApiKeyRecord,
    AuditQuery,
    ChainReport,
    EventRecord,
    JobRecord,
)
from audit.store import AuditError, AuditStore, IdempotencyConflict

__all__ = [
    "API_KEY_ROLES",
    "GENESIS_HASH",
    "JOB_STATUSES",
    "ApiKeyRecord",
    "AuditError",
    "AuditQuery",
    "AuditStore",
    "ChainReport",
    "EventRecord",
    "IdempotencyConflict",
    "JobRecord",
    "canonical_json",
    "chain_hash",
]
