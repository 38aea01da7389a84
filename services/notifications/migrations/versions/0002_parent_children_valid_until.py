"""A parent's children are vouched for until the subscribing token's expiry
(subscriptions.children_valid_until). Existing parent subscriptions get NULL: nothing more is
pushed to them until they subscribe again with a current token (their inbox is unaffected).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("children_valid_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("children_valid_until")
