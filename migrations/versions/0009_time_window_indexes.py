"""Indexes for time-bounded reviewer queries at 1M+ events.

Revision ID: 0009_time_window_indexes
Revises: 0008_submission_history
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_time_window_indexes"
down_revision: str | None = "0008_submission_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index (seq, created_at) and (created_at, seq): a page of a time window in chain order is
    then read from one narrow index, either way round (audit.event_queries); the second replaces
    ix_audit_events_created_at, whose entries it holds."""
    op.create_index("ix_audit_events_seq_created_at", "audit_events", ["seq", "created_at"])
    op.create_index("ix_audit_events_created_at_seq", "audit_events", ["created_at", "seq"])
    op.drop_index("ix_audit_events_created_at", table_name="audit_events")


def downgrade() -> None:
    """Back to the single created_at index."""
    op.create_index("ix_audit_events_created_at", "audit_events", ["created_at"])
    op.drop_index("ix_audit_events_created_at_seq", table_name="audit_events")
    op.drop_index("ix_audit_events_seq_created_at", table_name="audit_events")
