"""Timeline entries name the organisation whose request they answer (the decision's rule 3,
`own_request`); the consent-state copy also keeps the team events (rule 5 needs team membership).

* `timeline_entries.answers_request_of`: filled from the event data's
  `requested_by_organisation_id` on ingest. Entries stored before this revision were published
  under contracts that did not name the requester, so they stay NULL (nobody gets `own_request`
  on them: fail safe).
* `consent_events` now also holds ChildRegistered, TeamMemberJoined and TeamMemberLeft
  (consent_policy.state.FOLDED_TYPES). The registrations already consumed are copied in
  from the entries, so each child's setting is on its team after the upgrade. Joins consumed
  before this revision are NOT copied: until now any organisation could add itself to a team
  (issue 10), so an old join proves no relationship; the referrals service re-establishes
  membership by relationship.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from datetime import timezone

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHILD_REGISTERED = "tac.referrals.child_registered.v1"

_entries = sa.table(
    "timeline_entries",
    sa.column("event_id", sa.String), sa.column("child_id", sa.String), sa.column("event_type", sa.String),
    sa.column("category", sa.String), sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("author_practitioner_id", sa.String), sa.column("author_organisation_id", sa.String),
    sa.column("author_agency", sa.String), sa.column("author_role", sa.String), sa.column("payload", sa.Text),
)
_consent_events = sa.table(
    "consent_events",
    sa.column("event_id", sa.String), sa.column("child_id", sa.String), sa.column("event_type", sa.String),
    sa.column("envelope", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("timeline_entries") as batch:
        batch.add_column(sa.Column("answers_request_of", sa.String(128), nullable=True))
    _copy_registrations()


def _copy_registrations() -> None:
    bind = op.get_bind()
    known = set(bind.execute(sa.select(_consent_events.c.event_id)
                             .where(_consent_events.c.event_type == CHILD_REGISTERED)).scalars())
    rows = bind.execute(sa.select(_entries).where(_entries.c.event_type == CHILD_REGISTERED)).all()
    copies = [dict(event_id=row.event_id, child_id=row.child_id, event_type=row.event_type, envelope=_envelope(row))
              for row in rows if row.event_id not in known]
    if copies:
        bind.execute(sa.insert(_consent_events), copies)


def _envelope(row) -> str:
    """The envelope as the referrals service published it, rebuilt from the stored entry
    (the original correlation id was not kept; the event id stands in for it)."""
    occurred_at = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=timezone.utc)
    return json.dumps({
        "specversion": "1.0", "id": row.event_id, "source": "/tac/referrals", "subject": row.child_id,
        "time": occurred_at.isoformat(), "datacontenttype": "application/json",
        "actor": {"practitioner_id": row.author_practitioner_id, "organisation_id": row.author_organisation_id,
                  "agency": row.author_agency, "role": row.author_role},
        "correlationid": row.event_id, "causationid": None, "type": row.event_type, "category": row.category,
        "data": json.loads(row.payload),
    })


def downgrade() -> None:
    team_types = (CHILD_REGISTERED, "tac.referrals.team_member_joined.v1", "tac.referrals.team_member_left.v1")
    op.execute(sa.delete(_consent_events).where(_consent_events.c.event_type.in_(team_types)))
    with op.batch_alter_table("timeline_entries") as batch:
        batch.drop_column("answers_request_of")
