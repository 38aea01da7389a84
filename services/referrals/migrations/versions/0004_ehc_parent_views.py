"""A parent's views on an EHC needs assessment (issue 13, "two-way, not a window"): the
parent's views, wishes and feelings and the child's, which the local authority must seek
(SEND Regulations 2014 reg. 6(1)(a), 7), kept per request so GET /ehc-requests/{id} lists them
as the parent's advice received (EHCParentViewsGiven).

Revision ID: 0004
Revises: 0003
Create Date: 2025-12-13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ehc_parent_views",
        sa.Column("views_id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("ehc_requests.request_id"), nullable=False),
        sa.Column("child_id", sa.String(36), sa.ForeignKey("children.child_id"), nullable=False),
        sa.Column("given_by", sa.String(128), nullable=False),
        sa.Column("given_on", sa.Date, nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parent_views", sa.Text, nullable=False),
        sa.Column("child_views", sa.Text),
    )
    op.create_index("ix_ehc_parent_views_request_id", "ehc_parent_views", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_ehc_parent_views_request_id", table_name="ehc_parent_views")
    op.drop_table("ehc_parent_views")
