"""The notifications store: team and consent copies, subscriptions, inbox, delivery jobs,
reminders and their send keys, processed events and outbox.

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
ORG = sa.String(128)
PERSON = sa.String(128)
TS = sa.DateTime(timezone=True)


def _about() -> list[sa.Column]:
    return [
        sa.Column("child_id", ID, nullable=False),
        sa.Column("about_event_id", ID, nullable=False),
        sa.Column("about", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("author_organisation_id", ORG, nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("link", sa.String(2000), nullable=False),
    ]


def _cause() -> list[sa.Column]:
    return [
        sa.Column("source_topic", sa.String(249), nullable=False),
        sa.Column("source_partition", sa.Integer, nullable=False),
        sa.Column("source_offset", sa.BigInteger, nullable=False),
        sa.Column("cause_actor", sa.Text, nullable=False),
        sa.Column("correlationid", sa.String(128), nullable=False),
    ]


def upgrade() -> None:
    create_processed_events_table(op)
    create_outbox_table(op)
    op.create_table(
        "team_members",
        sa.Column("child_id", ID, primary_key=True),
        sa.Column("organisation_id", ORG, primary_key=True),
        sa.Column("agency", sa.String(32), nullable=True),
        sa.Column("joined_at", TS, nullable=False),
    )
    op.create_table(
        "consent_events",
        sa.Column("event_id", ID, primary_key=True),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
    )
    op.create_index("ix_consent_events_child_id", "consent_events", ["child_id"])
    op.create_table(
        "subscriptions",
        sa.Column("person_id", PERSON, primary_key=True),
        sa.Column("scope", ORG, primary_key=True),
        sa.Column("organisation_id", ORG, nullable=True),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("webhook_url", sa.String(2000), nullable=True),
        sa.Column("webhook_secret", sa.String(256), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_subscriptions_organisation_id", "subscriptions", ["organisation_id"])
    op.create_table(
        "parent_children",
        sa.Column("person_id", PERSON, primary_key=True),
        sa.Column("child_id", ID, primary_key=True),
    )
    op.create_index("ix_parent_children_child_id", "parent_children", ["child_id"])
    op.create_table(
        "inbox",
        sa.Column("notification_id", ID, primary_key=True),
        sa.Column("person_id", PERSON, nullable=False),
        sa.Column("scope", ORG, nullable=False),
        *_about(),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
    )
    op.create_index("ix_inbox_recipient", "inbox", ["person_id", "scope", "created_at"])
    op.create_table(
        "delivery_jobs",
        sa.Column("job_id", ID, primary_key=True),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("person_id", PERSON, nullable=False),
        sa.Column("scope", ORG, nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        *_about(),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("leased_until", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        *_cause(),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("deadlettered_at", TS, nullable=True),
    )
    op.create_index("ix_delivery_jobs_due", "delivery_jobs", ["status", "next_attempt_at"])
    op.create_index("ix_delivery_jobs_notification", "delivery_jobs", ["notification_id", "channel"], unique=True)
    op.create_table(
        "reminders",
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("offset_days", sa.Integer, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("send_on", sa.Date, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("about_event_id", ID, nullable=False),
        sa.Column("author_organisation_id", ORG, nullable=True),
        sa.Column("reference", sa.Text, nullable=False),
        *_cause(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settled_at", TS, nullable=True),
    )
    op.create_index("ix_reminders_due", "reminders", ["status", "send_on"])
    op.create_index("ix_reminders_ref", "reminders", ["child_id", "ref"])
    op.create_table(
        "reminder_sends",
        sa.Column("key", sa.String(800), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("reminder_sends", "reminders", "delivery_jobs", "inbox", "parent_children", "subscriptions",
                  "consent_events", "team_members", "outbox", "processed_events"):
        op.drop_table(table)
