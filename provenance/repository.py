"""The manifest repository: where a stripped or re-encoded clip's original manifest is found again.

At signing time the provenance stage allocates a clip id (the watermark's payload), then
registers the signed file's C2PA manifest store and the clip's PDQ fingerprint. `verify` looks a
copy up by the id its watermark carries, or by its fingerprint. The tables belong to the audit
database and are created by migration 0002, which `AuditStore.migrate()` applies (every
stillguard command runs it when it opens the database). The repository borrows the audit
store's engine, so a process holds one connection pool per database.

Sizes at millions of clips: a manifest store is 5-40 KB (thumbnails included), so the store
bytes, not the clip, are kept; fingerprint lookups use multi-index hashing (16 indexed 16-bit
bands per frame hash), so a lookup reads a few rows per band instead of scanning.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from provenance.errors import ProvenanceError
from provenance.fingerprint import MATCH_DISTANCE, bands, hamming
from provenance.manifest_store import extract_manifest_store

MIN_MATCHING_FRAMES = 2  # a fingerprint match needs this many frames (fewer if the query is short)
_MAX_CANDIDATES = 500
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# The registry's tables as migration 0002 builds them; Alembic's env and the schema test can
# compare against this alongside the audit models (`target_metadata = [Base.metadata, ...]`).
registry_metadata = sa.MetaData()
manifests = sa.Table(
    "provenance_manifests",
    registry_metadata,
    sa.Column("clip_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("manifest_label", sa.String(255), nullable=True),
    sa.Column("manifest_store", sa.LargeBinary(), nullable=True),
    sa.Column("fingerprint", _JSON, nullable=True),
    sa.UniqueConstraint("job_id", name="uq_provenance_manifests_job_id"),
    sa.CheckConstraint(
        "clip_id >= 0 AND clip_id < 4294967296", name="ck_provenance_manifests_clip_id"
    ),
)
fingerprint_bands = sa.Table(
    "provenance_fingerprint_bands",
    registry_metadata,
    sa.Column(
        "clip_id",
        sa.BigInteger(),
        sa.ForeignKey("provenance_manifests.clip_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("frame", sa.SmallInteger(), primary_key=True),
    sa.Column("band", sa.SmallInteger(), primary_key=True),
    sa.Column("value", sa.Integer(), nullable=False),
    sa.Index("ix_provenance_fingerprint_bands_band_value", "band", "value"),
)


@dataclass(frozen=True)
class RegistryEntry:
    """A registered clip: its id, job, and the manifest store it was published with."""

    clip_id: int
    job_id: str
    manifest_label: str | None
    manifest_store: bytes
    fingerprint: list[str]
    registered_at: dt.datetime | None
    matched_frames: int = 0  # fingerprint lookups: query frames within the match distance
    distance: int | None = None  # fingerprint lookups: mean Hamming distance of those frames


class ManifestRepository:
    """Clip ids, manifest stores and fingerprints in the audit database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, *, draw_id: Callable[[], int] | None = None) -> None:
        """Use `engine` (the audit store's, which owns and disposes it) for the registry tables.

        `draw_id` replaces the random 32-bit clip id draw (a benchmark fixes its ids with it)."""
        self._engine = engine
        self._draw_id = draw_id or (lambda: secrets.randbits(32))
        if not sa.inspect(engine).has_table("provenance_manifests"):
            raise ProvenanceError(
                "the manifest repository's tables are missing: run the audit database "
                "migrations first (AuditStore.migrate(), which every stillguard command runs)"
            )

    def allocate_clip_id(self, job_id: str) -> int:
        """A unique 32-bit clip id for `job_id`; the same id however often it is asked."""
        for _ in range(32):
            existing = self._clip_id_of(job_id)
            if existing is not None:
                return existing
            # Random, not sequential: ids reveal nothing about volume or neighbouring clips.
            candidate = self._draw_id()
            try:
                with self._engine.begin() as connection:
                    connection.execute(
                        manifests.insert().values(
                            clip_id=candidate, job_id=job_id, allocated_at=_now()
                        )
                    )
                return candidate
            except IntegrityError:
                continue  # the id was taken, or another worker allocated for this job: re-read
        raise ProvenanceError(f"could not allocate a clip id for job {job_id}")

    def _clip_id_of(self, job_id: str) -> int | None:
        with self._engine.connect() as connection:
            found = connection.execute(
                sa.select(manifests.c.clip_id).where(manifests.c.job_id == job_id)
            ).scalar_one_or_none()
        return None if found is None else int(found)

    def register(
        self,
        *,
        clip_id: int,
        job_id: str,
        fingerprint: list[str],
        signed_clip: pathlib.Path,
    ) -> None:
        """Record the signed clip's manifest store and fingerprint under its allocated id.

        Idempotent: registering the same clip again replaces its fingerprint rows.
        """
        store, label = extract_manifest_store(pathlib.Path(signed_clip))
        with self._engine.begin() as connection:
            # Write first: the transaction takes the write lock at once (SQLite upgrades a
            # read lock only if no other writer committed meanwhile).
            updated = connection.execute(
                manifests.update()
                .where(manifests.c.clip_id == clip_id, manifests.c.job_id == job_id)
                .values(
                    registered_at=_now(),
                    manifest_label=label,
                    manifest_store=store,
                    fingerprint=list(fingerprint),
                )
            )
            if updated.rowcount != 1:
                owner = connection.execute(
                    sa.select(manifests.c.job_id).where(manifests.c.clip_id == clip_id)
                ).scalar_one_or_none()
                raise ProvenanceError(
                    f"clip id {clip_id} was not allocated to job {job_id}"
                    + (f" (it belongs to {owner})" if owner else "")
                    + "; call allocate_clip_id first"
                )
            connection.execute(
                fingerprint_bands.delete().where(fingerprint_bands.c.clip_id == clip_id)
            )
            rows = [
                {"clip_id": clip_id, "frame": frame, "band": band, "value": value}
                for frame, value_hex in enumerate(fingerprint)
                for band, value in enumerate(bands(value_hex))
            ]
            if rows:
                connection.execute(fingerprint_bands.insert(), rows)

    def by_clip_id(self, clip_id: int) -> RegistryEntry | None:
        """The registered clip with this id (None if unknown or not yet registered)."""
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(manifests).where(
                    manifests.c.clip_id == clip_id, manifests.c.manifest_store.is_not(None)
                )
            ).one_or_none()
        return None if row is None else _entry(row)

    def by_fingerprint(
        self, fingerprint: list[str], max_distance: int = MATCH_DISTANCE
    ) -> RegistryEntry | None:
        """The registered clip whose frames best match `fingerprint`, or None.

        Candidates share at least one 16-bit band with a query frame (an index lookup); a
        candidate matches when at least MIN_MATCHING_FRAMES query frames (all of them for a
        shorter query) lie within `max_distance` of one of its frames.
        """
        if not fingerprint:
            return None
        pairs = {(band, value) for h in fingerprint for band, value in enumerate(bands(h))}
        with self._engine.connect() as connection:
            candidates = (
                connection.execute(
                    sa.select(fingerprint_bands.c.clip_id)
                    .where(
                        sa.tuple_(fingerprint_bands.c.band, fingerprint_bands.c.value).in_(pairs)
                    )
                    .distinct()
                    .limit(_MAX_CANDIDATES)
                )
                .scalars()
                .all()
            )
            if not candidates:
                return None
            rows = connection.execute(
                sa.select(manifests).where(
                    manifests.c.clip_id.in_(candidates), manifests.c.manifest_store.is_not(None)
                )
            ).all()
        needed = min(MIN_MATCHING_FRAMES, len(fingerprint))
        best: tuple[int, float, sa.Row] | None = None
        for row in rows:
            distances = [
                min((hamming(query, known) for known in row.fingerprint or []), default=256)
                for query in fingerprint
            ]
            close = [d for d in distances if d <= max_distance]
            if len(close) < needed:
                continue
            score = (len(close), -sum(close) / len(close))
            if best is None or score > best[:2]:
                best = (*score, row)
        if best is None:
            return None
        matched, mean_distance, row = best
        entry = _entry(row)
        return RegistryEntry(
            **{**entry.__dict__, "matched_frames": matched, "distance": round(-mean_distance)}
        )


def _entry(row: sa.Row) -> RegistryEntry:
    return RegistryEntry(
        clip_id=int(row.clip_id),
        job_id=row.job_id,
        manifest_label=row.manifest_label,
        manifest_store=bytes(row.manifest_store),
        fingerprint=list(row.fingerprint or []),
        registered_at=row.registered_at,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
