"""Inbox items and delivery jobs keep a reminder's due day and a break-glass grant's end
(`due_on`, `until`; services.notifications.domain.messages.Message) so the web's inbox can say
them in words; until now they were only in the message's text, beside the child's id. Both
nullable: NULL for other messages and on the rows written before this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("inbox", "delivery_jobs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
            batch.add_column(sa.Column("until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("until")
            batch.drop_column("due_on")
