"""Each child registered before the upgrade keeps its setting on its team; the unread
`team_members` table goes.

Before issue 10 this service kept only the consent topic's events in `consent_events` and the
team in `team_members`. The decision now folds the team from the same table as consent
(consent_policy.state.FOLDED_TYPES: ChildRegistered, TeamMemberJoined, TeamMemberLeft), and
nothing reads `team_members` any more. Without this revision every child registered before the
upgrade has no ChildRegistered in `consent_events`: its setting is off its team (told nothing)
and its designated safeguarding lead is not told of break-glass access.

* For each child with no ChildRegistered kept yet, the setting is the `team_members` row of
  agency `setting` that joined first (the registration is consumed before any join: both come
  on the child's partition of tac.referrals.v1, in order). A ChildRegistered-equivalent
  envelope naming it is added to `consent_events`, at the time the row was stored, under an
  event id derived from (child, setting) so a second run adds nothing. A child whose earliest
  `setting` rows tie is left alone: which one registered it cannot be told, and putting an
  organisation on a team it may have added itself to (issue 10) is the unsafe side.
* Joins kept in `team_members` are NOT copied, as in the timeline's migration 0002: until now
  any organisation could add itself to a team (issue 10), so an old join proves no
  relationship. Such an organisation is on the team here again only once a TeamMemberJoined
  by relationship arrives (an invitation or referral accepted); nothing re-sends those today.
* `team_members` is dropped. The downgrade recreates it from the team events kept in
  `consent_events` and removes the envelopes this revision added.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

CHILD_REGISTERED = "tac.referrals.child_registered.v1"
TEAM_MEMBER_JOINED = "tac.referrals.team_member_joined.v1"
TEAM_MEMBER_LEFT = "tac.referrals.team_member_left.v1"
SETTING = "setting"
# The event ids of the envelopes this revision adds: uuid5(NAMESPACE, "<child>/<setting>").
NAMESPACE = uuid.UUID("8c0e7f0a-5d0b-4d36-9a53-2f6f1b0c0004")
ACTOR_ID = "tac-notifications-migration-0004"

_team_members = sa.table(
    "team_members",
    sa.column("child_id", sa.String), sa.column("organisation_id", sa.String), sa.column("agency", sa.String),
    sa.column("joined_at", sa.DateTime(timezone=True)),
)
_consent_events = sa.table(
    "consent_events",
    sa.column("event_id", sa.String), sa.column("child_id", sa.String), sa.column("event_type", sa.String),
    sa.column("envelope", sa.Text),
)


def registration_id(child_id: str, setting: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{child_id}/{setting}"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _registration(child_id: str, setting: str, at: datetime) -> dict[str, str]:
    event_id = registration_id(child_id, setting)
    envelope = {
        "specversion": "1.0", "id": event_id, "source": "/tac/notifications", "subject": child_id,
        "time": _utc(at).isoformat(), "datacontenttype": "application/json",
        "actor": {"practitioner_id": ACTOR_ID, "organisation_id": setting, "agency": SETTING, "role": "migration"},
        "correlationid": event_id, "causationid": None, "type": CHILD_REGISTERED, "category": "referral",
        "data": {"setting_organisation_id": setting, "due_dates": []},
    }
    return dict(event_id=event_id, child_id=child_id, event_type=CHILD_REGISTERED, envelope=json.dumps(envelope))


def upgrade() -> None:
    bind = op.get_bind()
    registered = set(bind.execute(sa.select(_consent_events.c.child_id)
                                  .where(_consent_events.c.event_type == CHILD_REGISTERED)).scalars())
    settings: dict[str, list[tuple[datetime, str]]] = {}
    for row in bind.execute(sa.select(_team_members).where(_team_members.c.agency == SETTING)):
        if row.child_id not in registered:
            settings.setdefault(row.child_id, []).append((_utc(row.joined_at), row.organisation_id))
    copies = []
    for child_id, rows in sorted(settings.items()):
        rows.sort()
        if len(rows) > 1 and rows[0][0] == rows[1][0]:
            log.warning("child %s: several settings joined its team at %s; none is put on it", child_id, rows[0][0])
            continue
        at, setting = rows[0]
        copies.append(_registration(child_id, setting, at))
    if copies:
        bind.execute(sa.insert(_consent_events), copies)
    op.drop_table("team_members")


def downgrade() -> None:
    op.create_table(
        "team_members",
        sa.Column("child_id", sa.String(36), primary_key=True),
        sa.Column("organisation_id", sa.String(128), primary_key=True),
        sa.Column("agency", sa.String(32), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(_consent_events).where(
        _consent_events.c.event_type.in_((CHILD_REGISTERED, TEAM_MEMBER_JOINED, TEAM_MEMBER_LEFT)))).all()
    events = sorted((json.loads(row.envelope) for row in rows), key=lambda e: (_utc(datetime.fromisoformat(e["time"])), e["id"]))
    team: dict[tuple[str, str], dict] = {}
    added = []
    for event in events:
        child, data = event["subject"], event["data"]
        if event["type"] == CHILD_REGISTERED:
            org, agency = data["setting_organisation_id"], SETTING
            if event["id"] == registration_id(child, org):
                added.append(event["id"])
        else:
            org, agency = data["organisation_id"], data.get("agency")
        if event["type"] == TEAM_MEMBER_LEFT:
            team.pop((child, org), None)
        elif (child, org) not in team:
            team[(child, org)] = dict(child_id=child, organisation_id=org, agency=agency,
                                      joined_at=datetime.fromisoformat(event["time"]))
    if team:
        bind.execute(sa.insert(_team_members), list(team.values()))
    if added:
        bind.execute(sa.delete(_consent_events).where(_consent_events.c.event_id.in_(added)))
