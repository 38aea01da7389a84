"""Timeline entries keep their rendering as the API shows them (`timeline_entries.shown_as`,
services.timeline.adapters.shown_as): a read returns it instead of serialising each entry again.

The entries stored before this revision are rendered here from their columns, a thousand at a
time, by this module's own copy of the rendering as it is at this revision (a migration must
not change when the service's code does). Then the column becomes NOT NULL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 1000

_entries = sa.table(
    "timeline_entries",
    sa.column("event_id", sa.String), sa.column("event_type", sa.String), sa.column("category", sa.String),
    sa.column("occurred_at", sa.DateTime(timezone=True)), sa.column("author_practitioner_id", sa.String),
    sa.column("author_organisation_id", sa.String), sa.column("author_agency", sa.String),
    sa.column("author_role", sa.String), sa.column("summary", sa.Text), sa.column("payload", sa.Text),
    sa.column("shown_as", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("timeline_entries") as batch:
        batch.add_column(sa.Column("shown_as", sa.Text, nullable=True))
    _render_stored_entries()
    with op.batch_alter_table("timeline_entries") as batch:
        batch.alter_column("shown_as", existing_type=sa.Text, nullable=False)


def _render_stored_entries() -> None:
    bind = op.get_bind()
    update = (sa.update(_entries).where(_entries.c.event_id == sa.bindparam("id"))
              .values(shown_as=sa.bindparam("rendering")))
    while True:
        rows = bind.execute(sa.select(_entries).where(_entries.c.shown_as.is_(None))
                            .order_by(_entries.c.event_id).limit(BATCH)).all()
        if not rows:
            return
        bind.execute(update, [{"id": row.event_id, "rendering": _render(row)} for row in rows])


def _render(row) -> str:
    return orjson.dumps({
        "event_id": row.event_id, "type": row.event_type, "category": row.category,
        "occurred_at": _in_utc(row.occurred_at), "summary": row.summary, "data": orjson.loads(row.payload),
        "author": {"practitioner_id": row.author_practitioner_id, "organisation_id": row.author_organisation_id,
                   "agency": row.author_agency, "role": row.author_role},
    }, option=orjson.OPT_UTC_Z).decode()


def _in_utc(moment: datetime) -> datetime:
    # SQLite gives back the naive UTC time it stored; PostgreSQL an aware one in its session's zone.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries") as batch:
        batch.drop_column("shown_as")
