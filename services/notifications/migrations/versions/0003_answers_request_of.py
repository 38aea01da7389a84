"""Inbox items and delivery jobs keep the organisation whose request the entry answers
(`answers_request_of`: the decision's rule 3, `own_request`, run again at delivery and at
inbox read) and the organisation the message names (`named_organisation_id`: the inbox API
gives it with its directory name). Rows from before stay NULL: rule 3 does not apply to them
(the decision falls back to the other rules) and they name no organisation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("inbox", "delivery_jobs")
COLUMNS = ("answers_request_of", "named_organisation_id")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in COLUMNS:
                batch.add_column(sa.Column(column, sa.String(128), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(COLUMNS):
                batch.drop_column(column)
