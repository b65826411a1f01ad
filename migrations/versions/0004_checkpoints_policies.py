"""Signed checkpoints of the audit chain; policy packs and hash banks as versions in the database.

Revision ID: 0004_checkpoints_policies
Revises: 0003_outbox_leases
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_checkpoints_policies"
down_revision: str | None = "0003_outbox_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types as they were at this revision (never import live models).
TIMESTAMP = sa.DateTime(timezone=True)
SEQUENCE_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create audit_checkpoints, policy_versions, policy_activations and hash_bank_versions;
    index audit_events for the reviewer queries that scanned at 1M events."""
    op.create_index("ix_audit_events_action_created_at", "audit_events", ["action", "created_at"])
    op.create_index("ix_audit_events_policy_version_seq", "audit_events", ["policy_version", "seq"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", SEQUENCE_NUMBER, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("time_stamp", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])
    op.create_table(
        "policy_versions",
        sa.Column("id", SEQUENCE_NUMBER, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("uploaded_at", TIMESTAMP, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "policy_activations",
        sa.Column("id", SEQUENCE_NUMBER, primary_key=True, autoincrement=True),
        sa.Column("surface", sa.String(32), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column(
            "version_id", SEQUENCE_NUMBER, sa.ForeignKey("policy_versions.id"), nullable=True
        ),
        sa.Column("activated_at", TIMESTAMP, nullable=False),
        sa.Column("activated_by", sa.String(64), nullable=False),
        sa.CheckConstraint("role IN ('active', 'shadow')", name="ck_policy_activations_role"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_policy_activations_surface_role", "policy_activations", ["surface", "role", "id"]
    )
    op.create_table(
        "hash_bank_versions",
        sa.Column("id", SEQUENCE_NUMBER, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hashes", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", TIMESTAMP, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_hash_bank_versions_name_version"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop the four tables and the two indexes."""
    op.drop_index("ix_audit_events_policy_version_seq", table_name="audit_events")
    op.drop_index("ix_audit_events_action_created_at", table_name="audit_events")
    op.drop_table("hash_bank_versions")
    op.drop_index("ix_policy_activations_surface_role", table_name="policy_activations")
    op.drop_table("policy_activations")
    op.drop_table("policy_versions")
    op.drop_index("ix_audit_checkpoints_seq", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
