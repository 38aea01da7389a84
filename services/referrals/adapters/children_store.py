"""Children, their concerns and key person, and the lists of children a caller may be shown.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from consent_policy.store import CHUNK
from services.referrals.adapters.consent_store import consent_state_for_children
from services.referrals.adapters.tables import child_notices, children, concerns, key, team_members
from services.referrals.domain.rules import ChildRecord


def add_child(session: Session, *, child_id: UUID, given_name: str, family_name: str, date_of_birth: date,
              setting_organisation_id: str, now: datetime) -> None:
    session.execute(insert(children).values(
        child_id=key(child_id), given_name=given_name, family_name=family_name, date_of_birth=date_of_birth,
        setting_organisation_id=setting_organisation_id, registered_at=now,
    ))


def get_child_row(session: Session, child_id: UUID):
    return session.execute(select(children).where(children.c.child_id == key(child_id))).mappings().first()


def get_child(session: Session, child_id: UUID) -> ChildRecord | None:
    row = get_child_row(session, child_id)
    if row is None:
        return None
    return ChildRecord(child_id=UUID(row["child_id"]), setting_organisation_id=row["setting_organisation_id"],
                       date_of_birth=row["date_of_birth"])


def add_concern(session: Session, **values) -> None:
    values["concern_id"], values["child_id"] = key(values["concern_id"]), key(values["child_id"])
    session.execute(insert(concerns).values(**values))


def children_of_team(session: Session, organisation_id: str, now: datetime) -> list:
    """Every child whose team at `now` includes the organisation — in the decision's state, as
    current_team — or whose setting it is, in name order."""
    member = exists().where(and_(team_members.c.child_id == children.c.child_id,
                                 team_members.c.organisation_id == organisation_id, team_members.c.left_at.is_(None)))
    rows = list(session.execute(select(children).where(or_(children.c.setting_organisation_id == organisation_id, member))
                                .order_by(children.c.family_name, children.c.given_name, children.c.child_id)).mappings())
    candidates = [r["child_id"] for r in rows if r["setting_organisation_id"] != organisation_id]
    states = consent_state_for_children(session, candidates)
    return [r for r in rows if r["setting_organisation_id"] == organisation_id
            or states[r["child_id"]].is_team_member(UUID(r["child_id"]), organisation_id, now)]


def children_by_id(session: Session, child_ids: list[str]) -> list:
    rows: list = []
    for start in range(0, len(child_ids), CHUNK):
        rows += session.execute(select(children).where(children.c.child_id.in_(child_ids[start:start + CHUNK]))).mappings()
    return sorted(rows, key=lambda r: (r["family_name"], r["given_name"], r["child_id"]))


def name_key_person(session: Session, child_id: UUID, **values) -> None:
    session.execute(update(children).where(children.c.child_id == key(child_id)).values(**values))


# --- announcements ----------------------------------------------------------------------------


def children_owing_notice(session: Session, notice: str, *, born_on_or_before: date, born_after: date,
                          limit: int) -> list[tuple[UUID, str]]:
    """(child, setting) of children in the date-of-birth range with no `notice` row yet."""
    done = exists().where(and_(child_notices.c.child_id == children.c.child_id, child_notices.c.notice == notice))
    rows = session.execute(
        select(children.c.child_id, children.c.setting_organisation_id)
        .where(and_(children.c.date_of_birth <= born_on_or_before, children.c.date_of_birth > born_after, ~done))
        .order_by(children.c.date_of_birth, children.c.child_id).limit(limit)
    ).all()
    return [(UUID(child_id), setting) for child_id, setting in rows]


def record_notice(session: Session, *, child_id: UUID, notice: str, event_id: UUID, now: datetime) -> None:
    """Fails with IntegrityError (at flush) when the notice was recorded already."""
    session.execute(insert(child_notices).values(child_id=key(child_id), notice=notice, event_id=key(event_id), emitted_at=now))
