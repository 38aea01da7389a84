"""The referrals store: children (with personal details), concerns, referrals, team, integrated
reviews, EHC requests and advice, transitions, the copy of consent events, processed events
and the outbox.

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


def ID() -> sa.String:  # noqa: N802
    return sa.String(36)


def ORG() -> sa.String:  # noqa: N802
    return sa.String(128)


def TS() -> sa.DateTime:  # noqa: N802
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "children",
        sa.Column("child_id", ID(), primary_key=True),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("setting_organisation_id", ORG(), nullable=False),
        sa.Column("registered_at", TS(), nullable=False),
    )
    op.create_index("ix_children_setting_organisation_id", "children", ["setting_organisation_id"])
    op.create_table(
        "concerns",
        sa.Column("concern_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("areas_of_need", sa.JSON, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text),
        sa.Column("raised_on", sa.Date, nullable=False),
        sa.Column("raised_by_organisation_id", ORG(), nullable=False),
    )
    op.create_index("ix_concerns_child_id", "concerns", ["child_id"])
    op.create_table(
        "referrals",
        sa.Column("referral_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("from_organisation_id", ORG(), nullable=False),
        sa.Column("from_agency", sa.String(32), nullable=False),
        sa.Column("to_organisation_id", ORG(), nullable=False),
        sa.Column("to_agency", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("consent_id", ID(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("made_on", sa.Date, nullable=False),
        sa.Column("updated_at", TS(), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_referrals_child_id", "referrals", ["child_id"])
    op.create_index("ix_referrals_from_organisation_id", "referrals", ["from_organisation_id"])
    op.create_index("ix_referrals_to_organisation_id", "referrals", ["to_organisation_id"])
    op.create_table(
        "team_members",
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), primary_key=True),
        sa.Column("organisation_id", ORG(), primary_key=True),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("joined_at", TS(), nullable=False),
        sa.Column("left_at", TS()),
    )
    op.create_table(
        "integrated_reviews",
        sa.Column("review_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("recorded_on", sa.Date, nullable=False),
        sa.Column("scheduled_for", sa.Date, nullable=False),
        sa.Column("scheduled_by_organisation_id", ORG(), nullable=False),
        sa.Column("with_organisation_id", ORG()),
        sa.Column("completed_on", sa.Date),
    )
    op.create_index("ix_integrated_reviews_child_id", "integrated_reviews", ["child_id"])
    op.create_index("ix_integrated_reviews_scheduled_by_organisation_id", "integrated_reviews", ["scheduled_by_organisation_id"])
    op.create_index("ix_integrated_reviews_with_organisation_id", "integrated_reviews", ["with_organisation_id"])
    op.create_table(
        "ehc_requests",
        sa.Column("request_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("la_organisation_id", ORG(), nullable=False),
        sa.Column("requested_on", sa.Date, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_on", sa.Date),
        sa.Column("draft_issued_on", sa.Date),
        sa.Column("comments_due_on", sa.Date),
        sa.Column("finalised_on", sa.Date),
        sa.Column("exceptions", sa.JSON, nullable=False),
    )
    op.create_index("ix_ehc_requests_child_id", "ehc_requests", ["child_id"])
    op.create_index("ix_ehc_requests_la_organisation_id", "ehc_requests", ["la_organisation_id"])
    op.create_table(
        "ehc_advice",
        sa.Column("advice_id", ID(), primary_key=True),
        sa.Column("request_id", ID(), sa.ForeignKey("ehc_requests.request_id"), nullable=False),
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("from_organisation_id", ORG(), nullable=False),
        sa.Column("from_agency", sa.String(32), nullable=False),
        sa.Column("requested_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("submitted_on", sa.Date),
    )
    op.create_index("ix_ehc_advice_request_id", "ehc_advice", ["request_id"])
    op.create_index("ix_ehc_advice_from_organisation_id", "ehc_advice", ["from_organisation_id"])
    op.create_table(
        "transitions",
        sa.Column("child_id", ID(), sa.ForeignKey("children.child_id"), primary_key=True),
        sa.Column("school_organisation_id", ORG(), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("completed_on", sa.Date),
    )
    op.create_table(
        "consent_events",
        sa.Column("event_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("received_at", TS(), nullable=False),
    )
    op.create_index("ix_consent_events_child", "consent_events", ["child_id"])
    create_processed_events_table(op)
    create_outbox_table(op)


def downgrade() -> None:
    for table in ("outbox", "processed_events", "consent_events", "transitions", "ehc_advice", "ehc_requests",
                  "integrated_reviews", "team_members", "referrals", "concerns", "children"):
        op.drop_table(table)
