"""The consent copy's holds (consent_policy.holds): `consent_holds` records each message that
may restrict a child's access and could not be applied (the child's consent-based access fails
closed until a person releases it with `tac holds release`). Made by the one definition,
consent_policy.store.create_holds_table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from consent_policy.store import HOLDS_TABLE_NAME, create_holds_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_holds_table(op)


def downgrade() -> None:
    op.drop_table(HOLDS_TABLE_NAME)
