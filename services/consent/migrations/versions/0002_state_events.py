"""This service's copy of the team events the decision folds (ChildRegistered, TeamMemberJoined,
TeamMemberLeft from tac.referrals.v1): who may write about a child is its setting and team.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "state_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
    )
    op.create_index("ix_state_events_child_id", "state_events", ["child_id"])


def downgrade() -> None:
    op.drop_index("ix_state_events_child_id", table_name="state_events")
    op.drop_table("state_events")
