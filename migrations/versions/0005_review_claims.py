"""Review claims: which reviewer holds a held job, until when.

Revision ID: 0005_review_claims
Revises: 0004_checkpoints_policies
Create Date: 2026-11-28 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_review_claims"
down_revision: str | None = "0004_checkpoints_policies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the column type as it was at this revision (never import live models).
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create review_claims, one row per claimed job."""
    op.create_table(
        "review_claims",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    """Drop review_claims."""
    op.drop_table("review_claims")
