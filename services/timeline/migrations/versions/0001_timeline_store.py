"""The timeline store: entries, consent events, children's settings, access log, processed
events and outbox.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.common.idempotency import create_processed_events_table
from services.common.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("event_id", ID, primary_key=True),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_practitioner_id", sa.String(128), nullable=False),
        sa.Column("author_organisation_id", sa.String(128), nullable=True),
        sa.Column("author_agency", sa.String(32), nullable=False),
        sa.Column("author_role", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_timeline_entries_child_time", "timeline_entries", ["child_id", "occurred_at", "event_id"])
    op.create_table(
        "consent_events",
        sa.Column("event_id", ID, primary_key=True),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
    )
    op.create_index("ix_consent_events_child_id", "consent_events", ["child_id"])
    op.create_table(
        "children",
        sa.Column("child_id", ID, primary_key=True),
        sa.Column("setting_organisation_id", sa.String(128), nullable=False),
        sa.Column("registered_event_id", ID, nullable=False),
    )
    op.create_table(
        "access_log",
        sa.Column("view_id", ID, primary_key=True),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("viewer_practitioner_id", sa.String(128), nullable=False),
        sa.Column("viewer_organisation_id", sa.String(128), nullable=True),
        sa.Column("viewer_agency", sa.String(32), nullable=False),
        sa.Column("viewer_role", sa.String(64), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries_shown", sa.Integer, nullable=False),
        sa.Column("bases", sa.Text, nullable=False),
    )
    op.create_index("ix_access_log_child_time", "access_log", ["child_id", "viewed_at"])
    create_processed_events_table(op)
    create_outbox_table(op)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("processed_events")
    op.drop_index("ix_access_log_child_time", table_name="access_log")
    op.drop_table("access_log")
    op.drop_table("children")
    op.drop_index("ix_consent_events_child_id", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index("ix_timeline_entries_child_time", table_name="timeline_entries")
    op.drop_table("timeline_entries")
