"""Submission history: per-key fingerprints and refusals for the abuse-over-time signals.

Revision ID: 0008_submission_history
Revises: 0006_job_surface
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_submission_history"
down_revision: str | None = "0006_job_surface"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types as they were at this revision (never import live models).
TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create submission_history, one row per submitted job, indexed for per-key windows."""
    op.create_table(
        "submission_history",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("submitter", sa.String(64), nullable=False),
        sa.Column("surface", sa.String(64), nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=False),
        sa.Column("options", JSON_DOCUMENT, nullable=False),
        sa.Column("photo_pdq", sa.LargeBinary(), nullable=True),
        sa.Column("prompt_vector", sa.LargeBinary(), nullable=True),
        sa.Column("refused_at", TIMESTAMP, nullable=True),
    )
    op.create_index(
        "ix_submission_history_submitter_submitted_at",
        "submission_history",
        ["submitter", "submitted_at"],
    )
    op.create_index("ix_submission_history_submitted_at", "submission_history", ["submitted_at"])


def downgrade() -> None:
    """Drop submission_history."""
    op.drop_table("submission_history")
