"""The team around the child by relationship (issue 10): how each member joined, who invited
it and how it left; invitations; the child's key person and buddy; and the decision's state
gains the team events (ChildRegistered of every child already registered is copied from the
outbox, so its setting is on its team).

Revision ID: 0003
Revises: 0002
Create Date: 2025-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CHILD_REGISTERED = "tac.referrals.child_registered.v1"


def upgrade() -> None:
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("key_person_id", sa.String(128)))
        batch.add_column(sa.Column("key_person_name", sa.String(100)))
        batch.add_column(sa.Column("buddy_id", sa.String(128)))
        batch.add_column(sa.Column("buddy_name", sa.String(100)))
    with op.batch_alter_table("team_members") as batch:
        batch.add_column(sa.Column("joined_through", sa.String(32)))
        batch.add_column(sa.Column("invited_by_organisation_id", sa.String(128)))
        batch.add_column(sa.Column("ended_by", sa.String(32)))
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("organisation_id", sa.String(128), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("invited_by_organisation_id", sa.String(128), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("sent_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_invitations_child_id", "invitations", ["child_id"])
    op.create_index("ix_invitations_organisation_id", "invitations", ["organisation_id"])
    # Team members recorded before this revision joined by asserting it (the route this
    # revision removes): they stay in the table for the record, and are not on the team in the
    # decision's state. Each child's setting is: its ChildRegistered is copied from the outbox.
    bind = op.get_bind()
    outbox = sa.table("outbox", sa.column("event_id"), sa.column("event_type"), sa.column("payload"),
                      sa.column("created_at"))
    state = sa.table("consent_events", sa.column("event_id"), sa.column("child_id"), sa.column("event_type"),
                     sa.column("envelope"), sa.column("received_at"))
    rows = bind.execute(sa.select(outbox.c.event_id, outbox.c.payload, outbox.c.created_at)
                        .where(outbox.c.event_type == CHILD_REGISTERED)).all()
    import json
    for event_id, payload, created_at in rows:
        raw = bytes(payload).decode()
        bind.execute(sa.insert(state).values(event_id=event_id, child_id=json.loads(raw)["subject"],
                                             event_type=CHILD_REGISTERED, envelope=raw, received_at=created_at))


def downgrade() -> None:
    op.execute(f"DELETE FROM consent_events WHERE event_type = '{CHILD_REGISTERED}'")
    op.drop_index("ix_invitations_organisation_id", table_name="invitations")
    op.drop_index("ix_invitations_child_id", table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("team_members") as batch:
        batch.drop_column("ended_by")
        batch.drop_column("invited_by_organisation_id")
        batch.drop_column("joined_through")
    with op.batch_alter_table("children") as batch:
        for name in ("buddy_name", "buddy_id", "key_person_name", "key_person_id"):
            batch.drop_column(name)
