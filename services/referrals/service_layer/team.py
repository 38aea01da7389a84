"""Handlers of the team around the child (DESIGN §3; domain.team): a parent adds an
organisation, the setting or a team member invites one (under a consent covering it for `referral`) and it
accepts or declines, a parent or the setting removes one, an organisation leaves — which
withdraws the pending invitations it sent, or was sent, for that child. Nobody adds itself. Same shape as
service_layer.children: the caller must know the child (404 as for an unknown id), then
the rules of domain.rules (403), the directory (422), the state (409); state and
event in one transaction, and the team events also into this service's copy of the decision's
state (service_layer.unit_of_work)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import structlog

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, TeamJoinRoute, TeamLeaveRoute
from services.common.errors import Conflict, NotFound
from services.referrals.domain import access, commands as c, rules, team
from services.referrals.service_layer import membership
from services.referrals.service_layer.consent_checks import require_named, require_named_in_consent, retried_for_missing_consent
from services.referrals.service_layer.guards import allow, load_child, moved
from services.referrals.service_layer.unit_of_work import Deps, UnitOfWork, unit_of_work

log = structlog.get_logger(__name__)

PENDING, ACCEPTED, DECLINED, WITHDRAWN = "pending", "accepted", "declined", "withdrawn"


def _member_or_conflict(uow: UnitOfWork, child, organisation_id: str) -> None:
    if not team.is_member(uow.store.consent_state_for(child.child_id), child, organisation_id, uow.now):
        raise Conflict(f"organisation {organisation_id} is not in the team around the child")


def add_member(deps: Deps, caller, child_id: UUID, cmd: c.AddTeamMember) -> dict:
    """A parent adds an organisation (TeamMemberJoined, joined_through=parent); what it is and
    the role it is recorded with come from the directory, not from the request."""
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_parent_of, caller, child, "add an organisation to the team (the setting invites instead)")
        organisation = require_named(uow, cmd.organisation_id, None, "organisation_id")
        event_id = membership.join(uow, caller, child, organisation, role=organisation.agency.value, through=TeamJoinRoute.PARENT)
        if event_id is None:
            raise Conflict(f"organisation {cmd.organisation_id} is already in the team around the child")
    return {"child_id": child_id, "organisation_id": organisation.id, "organisation_name": organisation.name,
            "agency": organisation.agency.value, "event_id": event_id}


@retried_for_missing_consent
def invite(deps: Deps, caller, child_id: UUID, cmd: c.InviteToTeam) -> dict:
    """The child's setting or a team member (load_child lets only them, and a parent, past the
    404; a parent adds instead) invites an organisation. The invitation names the child to the
    organisation invited (GET /invitations), so, as for a referral, an active consent must
    cover that organisation or its agency for `referral` (409 naming what is missing)."""
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_practitioner, caller, "invite an organisation (a parent adds it to the team directly)")
        organisation = require_named(uow, cmd.organisation_id, None, "organisation_id")
        if team.is_member(uow.store.consent_state_for(child_id), child, organisation.id, uow.now):
            raise Conflict(f"organisation {organisation.id} is already in the team around the child")
        require_named_in_consent(uow, child_id, organisation.id, organisation.agency)
        if uow.store.pending_invitation(child_id, organisation.id, uow.today) is not None:
            raise Conflict(f"organisation {organisation.id} has already been invited and has not answered yet")
        invitation_id = uuid4()
        expires_on = uow.today + timedelta(days=deps.invitation_expiry_days)
        uow.store.add_invitation(invitation_id=invitation_id, child_id=child_id, organisation_id=organisation.id,
                                 agency=organisation.agency.value, invited_by_organisation_id=caller.organisation_id,
                                 message=cmd.message, sent_on=uow.today, expires_on=expires_on, state=PENDING)
        event_id = uow.emit(caller, child_id, ev.InvitationSent(
            invitation_id=invitation_id, organisation_id=organisation.id, agency=organisation.agency,
            expires_on=expires_on, message=cmd.message))
    return {"invitation_id": invitation_id, "event_id": event_id, "child_id": child_id,
            "organisation_id": organisation.id, "organisation_name": organisation.name, "expires_on": expires_on}


def _load_invitation(uow: UnitOfWork, caller, invitation_id: UUID):
    """The invitation, for the organisation invited only: to anyone else it does not exist."""
    row = uow.store.get_invitation(invitation_id)
    missing = NotFound(f"no invitation {invitation_id}")
    if row is None or str(caller.agency) == Agency.PARENT or caller.organisation_id != row["organisation_id"]:
        raise missing
    allow(rules.require_invitee, caller, row["organisation_id"], row["agency"])
    if not access.invitation_visible(row, uow.store.get_child(UUID(row["child_id"])),
                                     uow.store.consent_state_for(UUID(row["child_id"])), uow.now):
        raise missing  # no consent covers it any more: GET /invitations no longer lists it either
    if row["state"] != PENDING:
        raise Conflict(f"this invitation was {row['state']} already")
    if uow.today >= row["expires_on"]:
        raise Conflict(f"this invitation expired on {row['expires_on']}; ask to be invited again")
    return row


def accept_invitation(deps: Deps, caller, invitation_id: UUID) -> dict:
    with unit_of_work(deps) as uow:
        row = _load_invitation(uow, caller, invitation_id)
        child = uow.store.get_child(UUID(row["child_id"]))
        inviter = row["invited_by_organisation_id"]
        if not team.is_member(uow.store.consent_state_for(child.child_id), child, inviter, uow.now):
            # Only the setting or a team member invites (domain.team); one that has
            # left or been removed since no longer speaks for the team.
            raise Conflict(f"this invitation came from {uow.deps.directory.name_of(inviter) or inviter}, which is no longer "
                           f"in the team around the child; ask the child's setting to invite you again")
        moved(uow.store.answer_invitation(invitation_id, state=ACCEPTED, now=uow.now, reason=None), "the invitation")
        organisation = uow.deps.directory.get(row["organisation_id"])
        if organisation is None:
            raise Conflict(f"organisation {row['organisation_id']} is no longer in the directory")
        event_id = membership.join(uow, caller, child, organisation, role=team.role_of(caller), through=TeamJoinRoute.INVITATION,
                                   invitation_id=invitation_id, invited_by=row["invited_by_organisation_id"])
    return {"invitation_id": invitation_id, "child_id": child.child_id, "state": ACCEPTED, "event_id": event_id}


def decline_invitation(deps: Deps, caller, invitation_id: UUID, cmd: c.DeclineInvitation) -> dict:
    with unit_of_work(deps) as uow:
        row = _load_invitation(uow, caller, invitation_id)
        moved(uow.store.answer_invitation(invitation_id, state=DECLINED, now=uow.now, reason=cmd.reason),
              "the invitation")
        event_id = uow.emit(caller, UUID(row["child_id"]), ev.InvitationDeclined(
            invitation_id=invitation_id, organisation_id=row["organisation_id"],
            requested_by_organisation_id=row["invited_by_organisation_id"], reason=cmd.reason))
    return {"invitation_id": invitation_id, "state": DECLINED, "event_id": event_id}


def remove_member(deps: Deps, caller, child_id: UUID, organisation_id: str, cmd: c.RemoveTeamMember) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        ended_by = allow(rules.require_remover, caller, child)
        if organisation_id == child.setting_organisation_id:
            raise Conflict("the child's setting cannot be removed from the team: it holds the child's record")
        _member_or_conflict(uow, child, organisation_id)
        uow.store.leave_team(child_id=child_id, organisation_id=organisation_id, now=uow.now, ended_by=ended_by)
        uow.store.withdraw_invitations(child_id, organisation_id, now=uow.now, reason=ended_by)
        event_id = uow.emit(caller, child_id, ev.TeamMemberLeft(
            organisation_id=organisation_id, ended_by=TeamLeaveRoute(ended_by), reason=cmd.reason))
    _answer_once_published(deps, event_id)
    return {"child_id": child_id, "organisation_id": organisation_id, "ended_by": ended_by, "event_id": event_id}


def leave(deps: Deps, caller, child_id: UUID, organisation_id: str, cmd: c.LeaveTeam) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_leaver, caller, organisation_id)
        if organisation_id == child.setting_organisation_id:
            raise Conflict("the child's setting cannot leave the team: it holds the child's record")
        _member_or_conflict(uow, child, organisation_id)
        uow.store.leave_team(child_id=child_id, organisation_id=organisation_id, now=uow.now,
                             ended_by=str(TeamLeaveRoute.LEFT))
        uow.store.withdraw_invitations(child_id, organisation_id, now=uow.now, reason=str(TeamLeaveRoute.LEFT))
        event_id = uow.emit(caller, child_id, ev.TeamMemberLeft(
            organisation_id=organisation_id, ended_by=TeamLeaveRoute.LEFT, reason=cmd.reason))
    _answer_once_published(deps, event_id)
    return {"child_id": child_id, "organisation_id": organisation_id, "ended_by": TeamLeaveRoute.LEFT, "event_id": event_id}


def _answer_once_published(deps: Deps, event_id: UUID) -> None:
    """A departure from the team is answered once its event is on the topic: a read the
    departed organisation makes after this answer then waits for the timeline to apply it (its
    freshness gate waits for the child's partition) instead of racing the relay."""
    if not deps.await_published(event_id):
        log.warning("team_departure_answered_unpublished", event_id=str(event_id))
