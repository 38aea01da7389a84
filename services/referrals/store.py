"""The referrals service's own store: tables, and the queries the handlers and caseloads need.

Personal details (name, date of birth) live here and nowhere else (DESIGN §2). Ids are kept
as 36-character strings so SQLite and PostgreSQL store them alike. Every write happens inside
a transaction the handler opened, together with the outbox row of the event it causes.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from uuid import UUID

from sqlalchemy import (
    JSON, Column, Date, DateTime, ForeignKey, Index, MetaData, String, Table, Text, and_, exists, func, insert, or_,
    select, update,
)
from sqlalchemy.orm import Session

from schemas.catalogue import parse_event
from services.common.idempotency import define_processed_events_table
from services.common.outbox import define_outbox_table
from consent_policy.state import ConsentState
from services.referrals.domain import ChildRecord, ReferralRecord

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)

ID = lambda: String(36)  # noqa: E731
ORG = lambda: String(128)  # noqa: E731
TS = lambda: DateTime(timezone=True)  # noqa: E731

children = Table(
    "children", metadata,
    Column("child_id", ID(), primary_key=True),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("date_of_birth", Date, nullable=False, index=True),
    Column("setting_organisation_id", ORG(), nullable=False, index=True),
    Column("registered_at", TS(), nullable=False),
    # The child's key person and buddy (EYFS statutory framework 3.27), named by the setting:
    # names stay here; KeyPersonNamed carries the ids only.
    Column("key_person_id", String(128)),
    Column("key_person_name", String(100)),
    Column("buddy_id", String(128)),
    Column("buddy_name", String(100)),
)

concerns = Table(
    "concerns", metadata,
    Column("concern_id", ID(), primary_key=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False, index=True),
    Column("areas_of_need", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("evidence", Text),
    Column("raised_on", Date, nullable=False),
    Column("raised_by_organisation_id", ORG(), nullable=False),
)

referrals = Table(
    "referrals", metadata,
    Column("referral_id", ID(), primary_key=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False, index=True),
    Column("from_organisation_id", ORG(), nullable=False, index=True),
    Column("from_agency", String(32), nullable=False),
    Column("to_organisation_id", ORG(), nullable=False, index=True),
    Column("to_agency", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("consent_id", ID(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("made_on", Date, nullable=False),
    Column("updated_at", TS(), nullable=False),
    Column("note", Text),  # decline reason, withdrawal reason or outcome
)

team_members = Table(
    "team_members", metadata,
    Column("child_id", ID(), ForeignKey("children.child_id"), primary_key=True),
    Column("organisation_id", ORG(), primary_key=True),
    Column("agency", String(32), nullable=False),
    Column("role", String(64), nullable=False),
    Column("joined_at", TS(), nullable=False),
    Column("left_at", TS()),
    # How it joined (schemas.vocabulary.TeamJoinRoute), who invited it, and how it left.
    Column("joined_through", String(32)),
    Column("invited_by_organisation_id", ORG()),
    Column("ended_by", String(32)),
)
Index("ix_team_members_organisation_id", team_members.c.organisation_id)

# Invitations to a child's team (InvitationSent); answered once, by the organisation invited.
invitations = Table(
    "invitations", metadata,
    Column("invitation_id", ID(), primary_key=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False, index=True),
    Column("organisation_id", ORG(), nullable=False, index=True),
    Column("agency", String(32), nullable=False),
    Column("invited_by_organisation_id", ORG(), nullable=False),
    Column("message", Text),
    Column("sent_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("state", String(16), nullable=False),  # pending, accepted, declined, withdrawn
    Column("answered_at", TS()),
    Column("reason", Text),
)

integrated_reviews = Table(
    "integrated_reviews", metadata,
    Column("review_id", ID(), primary_key=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("scheduled_for", Date, nullable=False),
    Column("scheduled_by_organisation_id", ORG(), nullable=False, index=True),
    Column("with_organisation_id", ORG(), index=True),
    Column("completed_on", Date),
    Column("with_agency", String(32)),  # what the partner was named as (None: the child's setting)
)

ehc_requests = Table(
    "ehc_requests", metadata,
    Column("request_id", ID(), primary_key=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False, index=True),
    Column("la_organisation_id", ORG(), nullable=False, index=True),
    Column("requested_on", Date, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_on", Date),
    Column("draft_issued_on", Date),
    Column("comments_due_on", Date),
    Column("finalised_on", Date),
    Column("exceptions", JSON, nullable=False),
    # The organisation that recorded the request (None when a parent made it): its author for
    # the consent decision (services.referrals.access).
    Column("requested_by_organisation_id", ORG()),
)

ehc_advice = Table(
    "ehc_advice", metadata,
    Column("advice_id", ID(), primary_key=True),
    Column("request_id", ID(), ForeignKey("ehc_requests.request_id"), nullable=False, index=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False),
    Column("from_organisation_id", ORG(), nullable=False, index=True),
    Column("from_agency", String(32), nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("submitted_on", Date),
)

# A parent's views, wishes and feelings and the child's, given during an EHC needs assessment
# (SEND Regulations 2014 reg. 6(1)(a), 7; EHCParentViewsGiven): the parent's advice received.
ehc_parent_views = Table(
    "ehc_parent_views", metadata,
    Column("views_id", ID(), primary_key=True),
    Column("request_id", ID(), ForeignKey("ehc_requests.request_id"), nullable=False, index=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False),
    Column("given_by", String(128), nullable=False),  # the parent's person id, from the token
    Column("given_on", Date, nullable=False),
    Column("given_at", TS(), nullable=False),
    Column("parent_views", Text, nullable=False),
    Column("child_views", Text),
)

transitions = Table(
    "transitions", metadata,
    Column("child_id", ID(), ForeignKey("children.child_id"), primary_key=True),
    Column("school_organisation_id", ORG(), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("completed_on", Date),
)

# This service's copy of the decision's state (consent_policy.state.FOLDED_TYPES), per
# child, folded into ConsentState when needed: the consent events of tac.consent.v1, and the
# team events this service emits itself (ChildRegistered, TeamMemberJoined, TeamMemberLeft),
# written in the transaction of the command that emits them.
consent_events = Table(
    "consent_events", metadata,
    Column("event_id", ID(), primary_key=True),
    Column("child_id", ID(), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("received_at", TS(), nullable=False),
)
Index("ix_consent_events_child", consent_events.c.child_id)

# Announcements the service made about a child on its own (IntegratedReviewWindowOpened), one
# row per (child, notice), written in the same transaction as the event's outbox row: the key
# makes the announcement exactly once, across restarts and replicas.
child_notices = Table(
    "child_notices", metadata,
    Column("child_id", ID(), ForeignKey("children.child_id"), primary_key=True),
    Column("notice", String(64), primary_key=True),
    Column("event_id", ID(), nullable=False),
    Column("emitted_at", TS(), nullable=False),
)

# How many ids go into one IN (...) list: far below every driver's parameter limit
# (PostgreSQL 65,535; SQLite 32,766).
CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _s(value: UUID | str) -> str:
    return str(value)


# --- children ---------------------------------------------------------------------------


def add_child(session: Session, *, child_id: UUID, given_name: str, family_name: str, date_of_birth: date,
              setting_organisation_id: str, now: datetime) -> None:
    session.execute(insert(children).values(
        child_id=_s(child_id), given_name=given_name, family_name=family_name, date_of_birth=date_of_birth,
        setting_organisation_id=setting_organisation_id, registered_at=now,
    ))


def get_child_row(session: Session, child_id: UUID):
    return session.execute(select(children).where(children.c.child_id == _s(child_id))).mappings().first()


def get_child(session: Session, child_id: UUID) -> ChildRecord | None:
    row = get_child_row(session, child_id)
    if row is None:
        return None
    return ChildRecord(child_id=UUID(row["child_id"]), setting_organisation_id=row["setting_organisation_id"],
                       date_of_birth=row["date_of_birth"])


def add_concern(session: Session, **values) -> None:
    values["concern_id"], values["child_id"] = _s(values["concern_id"]), _s(values["child_id"])
    session.execute(insert(concerns).values(**values))


# --- referrals --------------------------------------------------------------------------


def add_referral(session: Session, **values) -> None:
    for k in ("referral_id", "child_id", "consent_id"):
        values[k] = _s(values[k])
    session.execute(insert(referrals).values(**values))


def get_referral(session: Session, referral_id: UUID) -> ReferralRecord | None:
    row = session.execute(select(referrals).where(referrals.c.referral_id == _s(referral_id))).mappings().first()
    if row is None:
        return None
    return ReferralRecord(referral_id=UUID(row["referral_id"]), child_id=UUID(row["child_id"]),
                          from_organisation_id=row["from_organisation_id"], to_organisation_id=row["to_organisation_id"],
                          to_agency=row["to_agency"], state=row["state"])


def get_referral_row(session: Session, referral_id: UUID):
    return session.execute(select(referrals).where(referrals.c.referral_id == _s(referral_id))).mappings().first()


def move(session: Session, table: Table, key_column: str, key: UUID | str, *, expected_state: str, **values) -> bool:
    """Compare-and-set on `state`: False when someone else moved it first (two accepts racing)."""
    result = session.execute(
        update(table).where(and_(table.c[key_column] == _s(key), table.c.state == expected_state)).values(**values)
    )
    return result.rowcount == 1


# --- team ---------------------------------------------------------------------------------


def team_member(session: Session, child_id: UUID, organisation_id: str):
    return session.execute(select(team_members).where(and_(
        team_members.c.child_id == _s(child_id), team_members.c.organisation_id == organisation_id,
    ))).mappings().first()


def join_team(session: Session, *, child_id: UUID, organisation_id: str, agency: str, role: str, now: datetime,
              joined_through: str, invited_by_organisation_id: str | None = None) -> None:
    values = dict(agency=agency, role=role, joined_at=now, left_at=None, joined_through=joined_through,
                  invited_by_organisation_id=invited_by_organisation_id, ended_by=None)
    if team_member(session, child_id, organisation_id) is None:
        session.execute(insert(team_members).values(child_id=_s(child_id), organisation_id=organisation_id, **values))
    else:
        session.execute(update(team_members).where(and_(
            team_members.c.child_id == _s(child_id), team_members.c.organisation_id == organisation_id,
        )).values(**values))


def leave_team(session: Session, *, child_id: UUID, organisation_id: str, now: datetime, ended_by: str) -> None:
    session.execute(update(team_members).where(and_(
        team_members.c.child_id == _s(child_id), team_members.c.organisation_id == organisation_id,
    )).values(left_at=now, ended_by=ended_by))


def current_team(session: Session, child_id: UUID, state: ConsentState, now: datetime) -> list:
    """The child's team at `now` with how each member joined: the rows of `team_members` still
    open, of organisations the decision's state has on the team at `now`. The state decides
    who is on the team (it is what every enforcing service folds); the table only says how. A
    row the state does not confirm (a self-asserted join from before migration 0003) is not a
    member."""
    members = state.team_members(child_id, now)
    rows = session.execute(select(team_members).where(and_(
        team_members.c.child_id == _s(child_id), team_members.c.left_at.is_(None),
    )).order_by(team_members.c.joined_at, team_members.c.organisation_id)).mappings()
    return [r for r in rows if r["organisation_id"] in members]


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
    session.execute(update(children).where(children.c.child_id == _s(child_id)).values(**values))


# --- invitations ------------------------------------------------------------------------------


def add_invitation(session: Session, **values) -> None:
    values["invitation_id"], values["child_id"] = _s(values["invitation_id"]), _s(values["child_id"])
    session.execute(insert(invitations).values(**values))


def get_invitation(session: Session, invitation_id: UUID):
    return session.execute(select(invitations).where(invitations.c.invitation_id == _s(invitation_id))).mappings().first()


def pending_invitation(session: Session, child_id: UUID, organisation_id: str, today: date):
    return session.execute(select(invitations).where(and_(
        invitations.c.child_id == _s(child_id), invitations.c.organisation_id == organisation_id,
        invitations.c.state == "pending", invitations.c.expires_on > today,
    ))).mappings().first()


def pending_invitations_for(session: Session, organisation_id: str, agency: str, today: date) -> list:
    return list(session.execute(select(invitations).where(and_(
        invitations.c.organisation_id == organisation_id, invitations.c.agency == agency,
        invitations.c.state == "pending", invitations.c.expires_on > today,
    )).order_by(invitations.c.sent_on, invitations.c.invitation_id)).mappings())


def children_awaiting_answer(session: Session, organisation_id: str, agency: str) -> set[str]:
    """Children with a referral made to the organisation, as that agency, still waiting for its
    answer (state made)."""
    return set(session.execute(select(referrals.c.child_id).where(and_(
        referrals.c.to_organisation_id == organisation_id, referrals.c.to_agency == agency,
        referrals.c.state == "made"))).scalars())


def withdraw_invitations(session: Session, child_id: UUID, organisation_id: str, *, now: datetime, reason: str) -> int:
    """Close the pending invitations about the child that the organisation sent, or that were
    sent to it (state `withdrawn`): when it leaves the team or is removed from it, an invitation
    it sent no longer comes from a member, and one sent to it must not bring it back."""
    result = session.execute(update(invitations).where(and_(
        invitations.c.child_id == _s(child_id), invitations.c.state == "pending",
        or_(invitations.c.invited_by_organisation_id == organisation_id, invitations.c.organisation_id == organisation_id),
    )).values(state="withdrawn", answered_at=now, reason=reason))
    return result.rowcount


def answer_invitation(session: Session, invitation_id: UUID, *, state: str, now: datetime, reason: str | None) -> bool:
    result = session.execute(update(invitations).where(and_(
        invitations.c.invitation_id == _s(invitation_id), invitations.c.state == "pending",
    )).values(state=state, answered_at=now, reason=reason))
    return result.rowcount == 1


def involved_organisations(session: Session, child_id: UUID, now: datetime) -> frozenset[str]:
    """The organisations on the child's team at `now`, in the decision's state. (Receivers of
    accepted referrals need no branch of their own: accepting puts the receiver on the team in
    the same transaction, and one removed or gone since is not involved any more.)"""
    return consent_state_for(session, child_id).team_members(child_id, now)


# --- integrated reviews ----------------------------------------------------------------------


def get_review(session: Session, review_id: UUID):
    return session.execute(select(integrated_reviews).where(integrated_reviews.c.review_id == _s(review_id))).mappings().first()


def add_review(session: Session, **values) -> None:
    values["review_id"], values["child_id"] = _s(values["review_id"]), _s(values["child_id"])
    session.execute(insert(integrated_reviews).values(**values))


# --- EHC ------------------------------------------------------------------------------------


def get_ehc(session: Session, request_id: UUID):
    return session.execute(select(ehc_requests).where(ehc_requests.c.request_id == _s(request_id))).mappings().first()


def open_ehc_for_child(session: Session, child_id: UUID, open_states: frozenset[str]):
    return session.execute(select(ehc_requests.c.request_id).where(and_(
        ehc_requests.c.child_id == _s(child_id), ehc_requests.c.state.in_(sorted(open_states)),
    ))).first()


def add_ehc(session: Session, **values) -> None:
    values["request_id"], values["child_id"] = _s(values["request_id"]), _s(values["child_id"])
    session.execute(insert(ehc_requests).values(**values))


def get_advice(session: Session, advice_id: UUID):
    return session.execute(select(ehc_advice).where(ehc_advice.c.advice_id == _s(advice_id))).mappings().first()


def add_advice(session: Session, **values) -> None:
    for k in ("advice_id", "request_id", "child_id"):
        values[k] = _s(values[k])
    session.execute(insert(ehc_advice).values(**values))


def mark_advice_submitted(session: Session, advice_id: UUID, submitted_on: date) -> bool:
    result = session.execute(update(ehc_advice).where(and_(
        ehc_advice.c.advice_id == _s(advice_id), ehc_advice.c.submitted_on.is_(None),
    )).values(submitted_on=submitted_on))
    return result.rowcount == 1


def add_parent_views(session: Session, **values) -> None:
    for k in ("views_id", "request_id", "child_id"):
        values[k] = _s(values[k])
    session.execute(insert(ehc_parent_views).values(**values))


def parent_views_for(session: Session, request_id: UUID) -> list:
    """The parent's views given on the request, oldest first."""
    v = ehc_parent_views
    return list(session.execute(select(v).where(v.c.request_id == _s(request_id))
                                .order_by(v.c.given_at, v.c.views_id)).mappings())


# --- transition -----------------------------------------------------------------------------


def get_transition(session: Session, child_id: UUID):
    return session.execute(select(transitions).where(transitions.c.child_id == _s(child_id))).mappings().first()


def plan_transition(session: Session, *, child_id: UUID, school_organisation_id: str, starts_on: date) -> None:
    values = dict(school_organisation_id=school_organisation_id, starts_on=starts_on, state="planned", completed_on=None)
    if get_transition(session, child_id) is None:
        session.execute(insert(transitions).values(child_id=_s(child_id), **values))
    else:
        session.execute(update(transitions).where(transitions.c.child_id == _s(child_id)).values(**values))


# --- consent copy ---------------------------------------------------------------------------


def store_consent_event(session: Session, envelope) -> None:
    """Keep one event of the decision's state (a consent event, or a team event this service
    emitted) for the child it is about."""
    session.execute(insert(consent_events).values(
        event_id=_s(envelope.id), child_id=_s(envelope.subject), event_type=envelope.type,
        envelope=envelope.to_json_bytes().decode(), received_at=utcnow(),
    ))


def consent_state_for(session: Session, child_id: UUID) -> ConsentState:
    """Rebuild the child's consent state from this service's copy of tac.consent.v1. The
    fold is order-insensitive, so the order rows come back in does not matter."""
    rows = session.execute(select(consent_events.c.envelope).where(consent_events.c.child_id == _s(child_id))).scalars()
    return ConsentState.from_events(parse_event(raw) for raw in rows)


def consent_state_for_children(session: Session, child_ids: list[str]) -> dict[str, ConsentState]:
    """Consent state per child, read CHUNK children at a time (no IN list grows with the store)."""
    found: dict[str, list] = {c: [] for c in child_ids}
    for start in range(0, len(child_ids), CHUNK):
        rows = session.execute(select(consent_events.c.child_id, consent_events.c.envelope)
                               .where(consent_events.c.child_id.in_(child_ids[start:start + CHUNK])))
        for child_id, raw in rows:
            found[child_id].append(parse_event(raw))
    return {c: ConsentState.from_events(envs) for c, envs in found.items()}


def _mentions(organisation_id: str, agency: str):
    """Consent events whose JSON names the organisation or the agency: a grant or a safeguarding
    grant that could permit it. A necessary condition only (a withdrawn consent still matches);
    the consent decision, run on every row, decides."""
    text = consent_events.c.envelope
    return or_(text.contains(f'"{organisation_id}"', autoescape=True), text.contains(f'"{agency}"', autoescape=True))


def review_list_candidates(session: Session, *, born_on_or_before: date, born_after: date, organisation_id: str,
                           agency: str) -> list:
    """Children old enough for the integrated review list and not yet at school (bounds on the
    date of birth, computed by services.referrals.clock), of whom some consent event names the
    health visiting organisation or its agency — the only children it could be permitted to see
    (it never authored a child's record). In date-of-birth order."""
    named = exists().where(and_(consent_events.c.child_id == children.c.child_id, _mentions(organisation_id, agency)))
    return list(session.execute(
        select(children.c.child_id, children.c.given_name, children.c.family_name, children.c.date_of_birth,
               children.c.setting_organisation_id)
        .where(and_(children.c.date_of_birth <= born_on_or_before, children.c.date_of_birth > born_after, named))
        .order_by(children.c.date_of_birth, children.c.child_id)
    ).mappings())


def review_state_for_children(session: Session, child_ids: list[str]) -> dict[str, tuple[date | None, date | None]]:
    """Per child: (the latest completion date, the date of the latest review scheduled)."""
    out: dict[str, tuple[date | None, date | None]] = {}
    ir = integrated_reviews
    for start in range(0, len(child_ids), CHUNK):
        rows = session.execute(select(ir.c.child_id, func.max(ir.c.completed_on), func.max(ir.c.scheduled_for))
                               .where(ir.c.child_id.in_(child_ids[start:start + CHUNK])).group_by(ir.c.child_id))
        for child_id, completed_on, scheduled_for in rows:
            out[child_id] = (completed_on, scheduled_for)
    return out


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
    session.execute(insert(child_notices).values(child_id=_s(child_id), notice=notice, event_id=_s(event_id), emitted_at=now))


