"""An index of each child's kinds of entry (author organisation, category, the organisation an
answer is for): a read asks for the kinds first, decides each, and fetches only the entries of
the kinds permitted (services.timeline.service_layer.reads).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_timeline_entries_child_kind", "timeline_entries",
                    ["child_id", "author_organisation_id", "category", "answers_request_of"])


def downgrade() -> None:
    op.drop_index("ix_timeline_entries_child_kind", table_name="timeline_entries")
