"""Policy packs as immutable versions, and which one each surface uses, with every change audited.

A version row is written once (its YAML exactly as uploaded and its SHA-256) and never changed.
An activation row says "from now on, surface S uses version V" (role `active`, or `shadow` for
a candidate that only runs beside it); the newest row per surface and role wins, so the table is
also the history, and a rollback is one more row. Each change and its audit event commit in one
transaction: a refused change leaves no row and no event. The content itself is validated by the
caller (the policies room) before it reaches this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from audit.models import PolicyActivation, PolicyVersion
from audit.records import DEFAULT_SURFACE, NOT_IN_JSON, EventDraft, JsonRecord, record_of
from audit.store import AuditError, AuditStore

__all__ = ["DEFAULT_SURFACE", "PolicyVersions"]


class PolicyVersionExists(AuditError):
    """That version string was already uploaded; versions are immutable."""


class UnknownPolicyVersion(AuditError):
    """No pack was uploaded under that version."""


class NothingToRollBack(AuditError):
    """The surface has no earlier active version to go back to."""


@dataclass(frozen=True)
class StoredPack(JsonRecord):
    """One uploaded version: its YAML exactly as uploaded, and who uploaded it when."""

    id: int = field(metadata=NOT_IN_JSON)
    version: str
    sha256: str
    body: str = field(metadata=NOT_IN_JSON)
    uploaded_at: datetime
    uploaded_by: str


@dataclass(frozen=True)
class Activation(JsonRecord):
    """One switch of a surface's active or shadow pack (version None: shadow withdrawn)."""

    id: int
    surface: str
    role: str
    version: str | None
    activated_at: datetime
    activated_by: str


def newest_id(store: AuditStore, column: InstrumentedAttribute[int]) -> int:
    """The largest id in a table (0 when empty): a cheap marker that any insert moves."""
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.max(column))) or 0)


def _stored(row: PolicyVersion) -> StoredPack:
    return record_of(StoredPack, row)


class PolicyVersions:
    """Uploads, activations, rollbacks and the history of policy packs, in the audit database."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    def marker(self) -> int:
        """The newest activation's id: one indexed read that changes whenever any switch does."""
        return newest_id(self._store, PolicyActivation.id)

    def upload(
        self,
        version: str,
        body: str,
        sha256: str,
        *,
        by: str,
        activate_on: str | None = None,
    ) -> StoredPack:
        """Store a new version (and, with `activate_on`, make it that surface's active pack)."""
        try:
            with self._store.write_transaction() as session:
                row = PolicyVersion(
                    version=version,
                    sha256=sha256,
                    body=body,
                    uploaded_at=datetime.now(UTC),
                    uploaded_by=by,
                )
                session.add(row)
                session.flush()
                self._store.append_in(
                    session,
                    EventDraft.without_job(
                        "policy",
                        "policy.uploaded",
                        "upload",
                        f"{by} uploaded policy {version} (sha256 {sha256[:16]})",
                        {"version": version, "sha256": sha256, "admin": by},
                        policy_version=version,
                    ),
                )
                if activate_on is not None:
                    self._activate_in(session, row, activate_on, "active", by, "policy.activated")
                return _stored(row)
        except IntegrityError as error:
            raise PolicyVersionExists(
                f"policy version {version!r} was already uploaded; versions are immutable, "
                "upload the change under a new version"
            ) from error

    def activate(
        self, version: str, *, by: str, surface: str = DEFAULT_SURFACE, role: str = "active"
    ) -> Activation:
        """Make an uploaded version the surface's active (or shadow) pack, audited."""
        with self._store.write_transaction() as session:
            row = session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
            if row is None:
                raise UnknownPolicyVersion(f"no policy version {version!r} was uploaded")
            kind = "policy.activated" if role == "active" else "policy.shadowed"
            return self._activate_in(session, row, surface, role, by, kind)

    def withdraw_shadow(self, *, by: str, surface: str = DEFAULT_SURFACE) -> Activation:
        """Stop running a shadow pack on the surface, audited."""
        with self._store.write_transaction() as session:
            return self._activate_in(session, None, surface, "shadow", by, "policy.shadowed")

    def rollback(self, *, by: str, surface: str = DEFAULT_SURFACE) -> Activation:
        """Re-activate the version that was active before the current one, audited."""
        with self._store.write_transaction() as session:
            rows = session.scalars(
                select(PolicyActivation)
                .where(PolicyActivation.surface == surface, PolicyActivation.role == "active")
                .order_by(PolicyActivation.id.desc())
            ).all()
            current = rows[0].version_id if rows else None
            earlier = next((r.version_id for r in rows if r.version_id != current), None)
            if earlier is None:
                raise NothingToRollBack(
                    f"surface {surface!r} has no earlier active policy version to roll back to"
                )
            row = session.get(PolicyVersion, earlier)
            return self._activate_in(session, row, surface, "active", by, "policy.rolled_back")

    def _activate_in(
        self,
        session: Session,
        row: PolicyVersion | None,
        surface: str,
        role: str,
        by: str,
        kind: str,
    ) -> Activation:
        previous = self._current_in(session, surface, role)
        activation = PolicyActivation(
            surface=surface,
            role=role,
            version_id=row.id if row is not None else None,
            activated_at=datetime.now(UTC),
            activated_by=by,
        )
        session.add(activation)
        session.flush()
        version = row.version if row is not None else None
        self._store.append_in(
            session,
            EventDraft.without_job(
                "policy",
                kind,
                kind.rsplit(".", 1)[1],
                f"{by} set the {role} pack of {surface!r}: {previous} -> {version}",
                {
                    "surface": surface,
                    "role": role,
                    "version": version,
                    "previous_version": previous,
                    "admin": by,
                },
                policy_version=version,
            ),
        )
        return Activation(activation.id, surface, role, version, activation.activated_at, by)

    @staticmethod
    def _current_in(session: Session, surface: str, role: str) -> str | None:
        return session.scalar(
            select(PolicyVersion.version)
            .join(PolicyActivation, PolicyActivation.version_id == PolicyVersion.id)
            .where(PolicyActivation.surface == surface, PolicyActivation.role == role)
            .order_by(PolicyActivation.id.desc())
            .limit(1)
        )

    def current(self) -> dict[tuple[str, str], StoredPack]:
        """Every surface's active and shadow pack now, keyed by (surface, role)."""
        newest = (
            select(func.max(PolicyActivation.id))
            .group_by(PolicyActivation.surface, PolicyActivation.role)
            .scalar_subquery()
        )
        with self._store.engine.connect() as connection:
            rows = connection.execute(
                select(PolicyActivation.surface, PolicyActivation.role, PolicyVersion)
                .join(PolicyVersion, PolicyActivation.version_id == PolicyVersion.id)
                .where(PolicyActivation.id.in_(newest))
            ).all()
        return {(r.surface, r.role): _stored(r) for r in rows}

    def get(self, version: str) -> StoredPack:
        """One uploaded version, or UnknownPolicyVersion."""
        with self._store.engine.connect() as connection:
            row = connection.execute(
                select(PolicyVersion).where(PolicyVersion.version == version)
            ).first()
        if row is None:
            raise UnknownPolicyVersion(f"no policy version {version!r} was uploaded")
        return _stored(row)

    def history(self) -> tuple[list[StoredPack], list[Activation]]:
        """Every uploaded version (oldest first) and every switch (oldest first)."""
        with self._store.engine.connect() as connection:
            versions = [
                _stored(r)
                for r in connection.execute(select(PolicyVersion).order_by(PolicyVersion.id))
            ]
            names = {v.id: v.version for v in versions}
            activations = [
                Activation(
                    r.id,
                    r.surface,
                    r.role,
                    names.get(r.version_id) if r.version_id is not None else None,
                    r.activated_at,
                    r.activated_by,
                )
                for r in connection.execute(select(PolicyActivation).order_by(PolicyActivation.id))
            ]
        return versions, activations
