"""Jobs name their surface: which surface's policy packs decide them.

Revision ID: 0006_job_surface
Revises: 0005_review_claims
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_job_surface"
down_revision: str | None = "0005_review_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add jobs.surface; jobs recorded before it were decided on the default surface."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("surface", sa.String(64), nullable=False, server_default="default")
        )


def downgrade() -> None:
    """Drop jobs.surface."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("surface")
