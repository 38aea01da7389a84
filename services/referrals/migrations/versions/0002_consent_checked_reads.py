"""Consent-checked reads and announcements: who recorded an EHC request (its author for the
consent decision), what an integrated review's partner was named as, the announcements made
exactly once per child (IntegratedReviewWindowOpened), and an index to look organisations up
in the team.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ehc_requests", sa.Column("requested_by_organisation_id", sa.String(128)))
    # Requests made before this revision: a setting's request was made by the child's setting
    # (the only practitioners allowed to make one); a parent's has no organisation.
    op.execute(
        "UPDATE ehc_requests SET requested_by_organisation_id = "
        "(SELECT children.setting_organisation_id FROM children WHERE children.child_id = ehc_requests.child_id) "
        "WHERE requested_by = 'setting'"
    )
    op.add_column("integrated_reviews", sa.Column("with_agency", sa.String(32)))
    op.create_table(
        "child_notices",
        sa.Column("child_id", sa.String(36), sa.ForeignKey("children.child_id"), primary_key=True),
        sa.Column("notice", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("emitted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_team_members_organisation_id", "team_members", ["organisation_id"])
    op.create_index("ix_children_date_of_birth", "children", ["date_of_birth"])


def downgrade() -> None:
    op.drop_index("ix_children_date_of_birth", table_name="children")
    op.drop_index("ix_team_members_organisation_id", table_name="team_members")
    op.drop_table("child_notices")
    with op.batch_alter_table("integrated_reviews") as batch:
        batch.drop_column("with_agency")
    with op.batch_alter_table("ehc_requests") as batch:
        batch.drop_column("requested_by_organisation_id")
