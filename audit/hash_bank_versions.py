"""Known-bad hash banks as versions in the audit database; the newest version of each name is used.

An upload writes a new version row and its audit event in one transaction. The content is
validated by the caller (the safety room parses it) before it reaches this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from audit.models import HashBankVersion
from audit.policy_versions import newest_id
from audit.records import EventDraft
from audit.store import AuditStore


@dataclass(frozen=True)
class StoredBank:
    """One version of a bank: its text as uploaded, and how many hashes it holds."""

    name: str
    version: int
    sha256: str
    body: str
    hashes: int


class HashBankVersions:
    """Uploads and the current versions of hash banks."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    def marker(self) -> int:
        """The newest upload's id: one indexed read that changes whenever any bank does."""
        return newest_id(self._store, HashBankVersion.id)

    def upload(self, name: str, body: str, sha256: str, hashes: int, *, by: str) -> StoredBank:
        """Store the next version of bank `name`, audited in the same transaction."""
        with self._store.write_transaction() as session:
            newest = session.scalar(
                select(func.max(HashBankVersion.version)).where(HashBankVersion.name == name)
            )
            version = int(newest or 0) + 1
            session.add(
                HashBankVersion(
                    name=name,
                    version=version,
                    sha256=sha256,
                    body=body,
                    hashes=hashes,
                    uploaded_at=datetime.now(UTC),
                    uploaded_by=by,
                )
            )
            self._store.append_in(
                session,
                EventDraft.without_job(
                    "policy",
                    "hash_bank.loaded",
                    "load",
                    f"admin {by} loaded bank {name} v{version} ({hashes} hashes)",
                    {
                        "bank": name,
                        "version": version,
                        "hashes": hashes,
                        "sha256": sha256,
                        "admin": by,
                    },
                ),
            )
        return StoredBank(name, version, sha256, body, hashes)

    def current(self) -> list[StoredBank]:
        """The newest version of every bank, by name."""
        newest = (
            select(func.max(HashBankVersion.id)).group_by(HashBankVersion.name).scalar_subquery()
        )
        with self._store.engine.connect() as connection:
            rows = connection.execute(
                select(HashBankVersion)
                .where(HashBankVersion.id.in_(newest))
                .order_by(HashBankVersion.name)
            ).all()
        return [StoredBank(r.name, r.version, r.sha256, r.body, r.hashes) for r in rows]
