"""The consent-state copy takes the one shared definition (consent_policy.store.ConsentCopy):
`consent_events` gains a nullable `received_at` (when this copy learnt the event; NULL on the
rows kept before this revision). Nothing reads it for a decision.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("received_at")
