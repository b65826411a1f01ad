"""Provenance registry: signed manifests by clip id, and PDQ fingerprint bands for lookups.

Revision ID: 0002_provenance_registry
Revises: 0001_audit_schema
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_provenance_registry"
down_revision: str | None = "0001_audit_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types as they were at this revision (never import live models).
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create provenance_manifests and provenance_fingerprint_bands."""
    op.create_table(
        "provenance_manifests",
        # Clip ids are unsigned 32-bit (the watermark's payload): BIGINT holds them everywhere.
        sa.Column("clip_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("allocated_at", TIMESTAMP, nullable=False),
        sa.Column("registered_at", TIMESTAMP, nullable=True),
        sa.Column("manifest_label", sa.String(255), nullable=True),
        sa.Column("manifest_store", sa.LargeBinary(), nullable=True),
        sa.Column("fingerprint", JSON_DOCUMENT, nullable=True),
        sa.UniqueConstraint("job_id", name="uq_provenance_manifests_job_id"),
        sa.CheckConstraint(
            "clip_id >= 0 AND clip_id < 4294967296", name="ck_provenance_manifests_clip_id"
        ),
    )
    # Multi-index hashing: each sampled frame's 256-bit PDQ hash cut into sixteen 16-bit bands;
    # a lookup fetches the clips sharing any band, then checks Hamming distance exactly.
    op.create_table(
        "provenance_fingerprint_bands",
        sa.Column(
            "clip_id",
            sa.BigInteger(),
            sa.ForeignKey("provenance_manifests.clip_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("frame", sa.SmallInteger(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("clip_id", "frame", "band"),
    )
    op.create_index(
        "ix_provenance_fingerprint_bands_band_value",
        "provenance_fingerprint_bands",
        ["band", "value"],
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index(
        "ix_provenance_fingerprint_bands_band_value", table_name="provenance_fingerprint_bands"
    )
    op.drop_table("provenance_fingerprint_bands")
    op.drop_table("provenance_manifests")
