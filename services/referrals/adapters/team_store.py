"""Who joined a child's team and how (`team_members`), and invitations to the team. Who IS on
the team is the decision's state (consent_store); this table says how each member joined.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from consent_policy.state import ConsentState
from services.referrals.adapters.consent_store import consent_state_for
from services.referrals.adapters.tables import invitations, key, team_members


def team_member(session: Session, child_id: UUID, organisation_id: str):
    return session.execute(select(team_members).where(and_(
        team_members.c.child_id == key(child_id), team_members.c.organisation_id == organisation_id,
    ))).mappings().first()


def join_team(session: Session, *, child_id: UUID, organisation_id: str, agency: str, role: str, now: datetime,
              joined_through: str, invited_by_organisation_id: str | None = None) -> None:
    values = dict(agency=agency, role=role, joined_at=now, left_at=None, joined_through=joined_through,
                  invited_by_organisation_id=invited_by_organisation_id, ended_by=None)
    if team_member(session, child_id, organisation_id) is None:
        session.execute(insert(team_members).values(child_id=key(child_id), organisation_id=organisation_id, **values))
    else:
        session.execute(update(team_members).where(and_(
            team_members.c.child_id == key(child_id), team_members.c.organisation_id == organisation_id,
        )).values(**values))


def leave_team(session: Session, *, child_id: UUID, organisation_id: str, now: datetime, ended_by: str) -> None:
    session.execute(update(team_members).where(and_(
        team_members.c.child_id == key(child_id), team_members.c.organisation_id == organisation_id,
    )).values(left_at=now, ended_by=ended_by))


def current_team(session: Session, child_id: UUID, state: ConsentState, now: datetime) -> list:
    """The child's team at `now` with how each member joined: the rows of `team_members` still
    open, of organisations the decision's state has on the team at `now`. The state decides
    who is on the team (it is what every enforcing service folds); the table only says how. A
    row the state does not confirm (a self-asserted join from before migration 0003) is not a
    member."""
    members = state.team_members(child_id, now)
    rows = session.execute(select(team_members).where(and_(
        team_members.c.child_id == key(child_id), team_members.c.left_at.is_(None),
    )).order_by(team_members.c.joined_at, team_members.c.organisation_id)).mappings()
    return [r for r in rows if r["organisation_id"] in members]


# --- invitations ------------------------------------------------------------------------------


def add_invitation(session: Session, **values) -> None:
    values["invitation_id"], values["child_id"] = key(values["invitation_id"]), key(values["child_id"])
    session.execute(insert(invitations).values(**values))


def get_invitation(session: Session, invitation_id: UUID):
    return session.execute(select(invitations).where(invitations.c.invitation_id == key(invitation_id))).mappings().first()


def pending_invitation(session: Session, child_id: UUID, organisation_id: str, today: date):
    return session.execute(select(invitations).where(and_(
        invitations.c.child_id == key(child_id), invitations.c.organisation_id == organisation_id,
        invitations.c.state == "pending", invitations.c.expires_on > today,
    ))).mappings().first()


def pending_invitations_for(session: Session, organisation_id: str, agency: str, today: date) -> list:
    return list(session.execute(select(invitations).where(and_(
        invitations.c.organisation_id == organisation_id, invitations.c.agency == agency,
        invitations.c.state == "pending", invitations.c.expires_on > today,
    )).order_by(invitations.c.sent_on, invitations.c.invitation_id)).mappings())


def withdraw_invitations(session: Session, child_id: UUID, organisation_id: str, *, now: datetime, reason: str) -> int:
    """Close the pending invitations about the child that the organisation sent, or that were
    sent to it (state `withdrawn`): when it leaves the team or is removed from it, an invitation
    it sent no longer comes from a member, and one sent to it must not bring it back."""
    result = session.execute(update(invitations).where(and_(
        invitations.c.child_id == key(child_id), invitations.c.state == "pending",
        or_(invitations.c.invited_by_organisation_id == organisation_id, invitations.c.organisation_id == organisation_id),
    )).values(state="withdrawn", answered_at=now, reason=reason))
    return result.rowcount


def answer_invitation(session: Session, invitation_id: UUID, *, state: str, now: datetime, reason: str | None) -> bool:
    result = session.execute(update(invitations).where(and_(
        invitations.c.invitation_id == key(invitation_id), invitations.c.state == "pending",
    )).values(state=state, answered_at=now, reason=reason))
    return result.rowcount == 1


def involved_organisations(session: Session, child_id: UUID, now: datetime) -> frozenset[str]:
    """The organisations on the child's team at `now`, in the decision's state. (Receivers of
    accepted referrals need no branch of their own: accepting puts the receiver on the team in
    the same transaction, and one removed or gone since is not involved any more.)"""
    return consent_state_for(session, child_id).team_members(child_id, now)
