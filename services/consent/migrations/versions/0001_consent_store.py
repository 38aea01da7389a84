"""The consent store: children's settings (copied from ChildRegistered), consents with the
giver's name, the expiry notices emitted, safeguarding grants, processed events and the outbox.

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


def TS() -> sa.DateTime:  # noqa: N802
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "children",
        sa.Column("child_id", ID(), primary_key=True),
        sa.Column("setting_organisation_id", sa.String(128), nullable=False),
        sa.Column("registered_event_id", ID(), nullable=False),
        sa.Column("updated_at", TS(), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("consent_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), nullable=False),
        sa.Column("giver_name", sa.String(200), nullable=False),
        sa.Column("giver_relationship", sa.String(64), nullable=False),
        sa.Column("giver_person_id", sa.String(128), nullable=False),
        sa.Column("has_parental_responsibility", sa.Boolean, nullable=False),
        sa.Column("recorded_on_behalf", sa.Boolean, nullable=False),
        sa.Column("recorded_by", sa.JSON, nullable=False),
        sa.Column("recipient_organisations", sa.JSON, nullable=False),
        sa.Column("recipient_agencies", sa.JSON, nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("valid_from", TS(), nullable=False),
        sa.Column("expires_at", TS(), nullable=False),
        sa.Column("recorded_at", TS(), nullable=False),
        sa.Column("granted_event_id", ID(), nullable=False),
        sa.Column("withdrawn_at", TS()),
        sa.Column("withdrawal_recorded_at", TS()),
        sa.Column("withdrawal_recorded_on_behalf", sa.Boolean),
        sa.Column("withdrawal_recorded_by", sa.JSON),
        sa.Column("withdrawal_event_id", ID()),
    )
    op.create_index("ix_consents_child_id", "consents", ["child_id"])
    op.create_index("ix_consents_expires_at", "consents", ["expires_at"])
    op.create_table(
        "consent_notices",
        sa.Column("consent_id", ID(), sa.ForeignKey("consents.consent_id"), primary_key=True),
        sa.Column("notice", sa.String(32), primary_key=True),
        sa.Column("event_id", ID(), nullable=False, unique=True),
        sa.Column("emitted_at", TS(), nullable=False),
    )
    op.create_table(
        "safeguarding_grants",
        sa.Column("grant_id", ID(), primary_key=True),
        sa.Column("child_id", ID(), nullable=False),
        sa.Column("organisation_id", sa.String(128), nullable=False),
        sa.Column("granted_by", sa.JSON, nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("granted_at", TS(), nullable=False),
        sa.Column("expires_at", TS(), nullable=False),
        sa.Column("notify_role", sa.String(64), nullable=False),
        sa.Column("event_id", ID(), nullable=False),
    )
    op.create_index("ix_safeguarding_grants_child_id", "safeguarding_grants", ["child_id"])
    op.create_index("ix_safeguarding_grants_organisation_id", "safeguarding_grants", ["organisation_id"])
    create_processed_events_table(op)
    create_outbox_table(op)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("processed_events")
    op.drop_table("safeguarding_grants")
    op.drop_table("consent_notices")
    op.drop_table("consents")
    op.drop_table("children")
