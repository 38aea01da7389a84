"""The consent-state copy is consent_policy.store's table now (one definition for every service
that enforces the decision): its child index takes that definition's name
(ix_consent_events_child_id), and `received_at` may be NULL there (a copy's rows kept before
the column existed, in other services). Every row here has it; nothing else changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_consent_events_child", table_name="consent_events")
    op.create_index("ix_consent_events_child_id", "consent_events", ["child_id"])
    with op.batch_alter_table("consent_events") as batch:
        batch.alter_column("received_at", existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.alter_column("received_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.drop_index("ix_consent_events_child_id", table_name="consent_events")
    op.create_index("ix_consent_events_child", "consent_events", ["child_id"])
