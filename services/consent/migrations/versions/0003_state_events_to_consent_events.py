"""This service's copy of the team events takes the one shared definition of the consent-state
copy (consent_policy.store.ConsentCopy), as the other enforcing services have it: the table
`state_events` becomes `consent_events` (rows kept, index renamed to match) and gains a
nullable `received_at` (when this copy learnt the event; NULL on the rows kept before).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_state_events_child_id", table_name="state_events")
    op.rename_table("state_events", "consent_events")
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_consent_events_child_id", "consent_events", ["child_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_events_child_id", table_name="consent_events")
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("received_at")
    op.rename_table("consent_events", "state_events")
    op.create_index("ix_state_events_child_id", "state_events", ["child_id"])
