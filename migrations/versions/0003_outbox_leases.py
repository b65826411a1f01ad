"""Outbox of messages written with the records that cause them, leases of jobs by stage, and
completion webhooks (per API key, or per job).

Revision ID: 0003_outbox_leases
Revises: 0002_provenance_registry
Create Date: 2026-11-28 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_outbox_leases"
down_revision: str | None = "0002_provenance_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types as they were at this revision (never import live models).
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
SEQUENCE_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OUTBOX_STATUSES = ("pending", "sent", "dead")


def upgrade() -> None:
    """Create outbox_messages; give jobs a lease (owner, stage, expiry) and an attempt count."""
    op.create_table(
        "outbox_messages",
        sa.Column("id", SEQUENCE_NUMBER, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("headers", JSON_DOCUMENT, nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("available_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dead')", name="ck_outbox_messages_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_outbox_messages_status_available_at", "outbox_messages", ["status", "available_at"]
    )
    op.create_index("ix_outbox_messages_job_id", "outbox_messages", ["job_id"])
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        jobs.add_column(sa.Column("lease_stage", sa.String(32), nullable=True))
        jobs.add_column(sa.Column("lease_expires_at", TIMESTAMP, nullable=True))
        jobs.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        jobs.add_column(sa.Column("callback_url", sa.String(2048), nullable=True))
        jobs.add_column(sa.Column("blobs_expired_at", TIMESTAMP, nullable=True))
    op.create_index("ix_jobs_lease_expires_at", "jobs", ["lease_expires_at"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    """Drop the webhooks, the outbox and the job leases."""
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_jobs_lease_expires_at", table_name="jobs")
    with op.batch_alter_table("jobs") as jobs:
        for column in (
            "blobs_expired_at",
            "callback_url",
            "attempts",
            "lease_expires_at",
            "lease_stage",
            "lease_owner",
        ):
            jobs.drop_column(column)
    op.drop_index("ix_outbox_messages_job_id", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_status_available_at", table_name="outbox_messages")
    op.drop_table("outbox_messages")
