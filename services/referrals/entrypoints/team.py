"""HTTP routes for the team around the child and invitations to it (an invitation to a child's
team answers the 404 of an unknown id to anyone but the organisation invited).

| method | path | who | event |
|---|---|---|---|
| GET | /children/{child_id}/team | the setting, team members, a parent of the child | - |
| POST | /children/{child_id}/team | a parent of the child, adding an organisation: {organisation_id} | TeamMemberJoined (parent) |
| POST | /children/{child_id}/invitations | the child's setting or a team member, under a consent covering the organisation for `referral` (409 naming it): {organisation_id, message?} | InvitationSent |
| GET | /invitations | any practitioner: its organisation's pending invitations | - |
| POST | /invitations/{invitation_id}/accept | the organisation invited, before expiry, while its inviter is the setting or on the team (409 otherwise) and a consent covers it (else the 404 of an unknown id) | TeamMemberJoined (invitation) |
| POST | /invitations/{invitation_id}/decline | the organisation invited: {reason?} | InvitationDeclined |
| POST | /children/{child_id}/team/{organisation_id}/remove | a parent of the child or the setting: {reason} | TeamMemberLeft (removed_by_parent / removed_by_setting) |
| POST | /children/{child_id}/team/{organisation_id}/leave | the organisation itself: {reason?} | TeamMemberLeft (left) |
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.common.web import CurrentPrincipal
from services.referrals.domain import commands as c
from services.referrals.entrypoints.deps import DepsDep, OrgPath
from services.referrals.service_layer import children_reads as reads, team as handlers

router = APIRouter(tags=["team around the child"])


@router.get("/children/{child_id}/team")
def read_team(child_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_team(deps, principal, child_id)


@router.post("/children/{child_id}/team", status_code=201)
def add_team_member(child_id: UUID, cmd: c.AddTeamMember, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.add_member(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/invitations", status_code=201)
def invite(child_id: UUID, cmd: c.InviteToTeam, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.invite(deps, principal, child_id, cmd)


@router.get("/invitations")
def pending_invitations(principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.pending_invitations(deps, principal)


@router.post("/invitations/{invitation_id}/accept")
def accept_invitation(invitation_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.accept_invitation(deps, principal, invitation_id)


@router.post("/invitations/{invitation_id}/decline")
def decline_invitation(invitation_id: UUID, principal: CurrentPrincipal, deps: DepsDep,
                       cmd: c.DeclineInvitation | None = None) -> dict:
    return handlers.decline_invitation(deps, principal, invitation_id, cmd or c.DeclineInvitation())


@router.post("/children/{child_id}/team/{organisation_id}/remove")
def remove_team_member(child_id: UUID, organisation_id: OrgPath, cmd: c.RemoveTeamMember, principal: CurrentPrincipal,
                       deps: DepsDep) -> dict:
    return handlers.remove_member(deps, principal, child_id, organisation_id, cmd)


@router.post("/children/{child_id}/team/{organisation_id}/leave")
def leave_team(child_id: UUID, organisation_id: OrgPath, principal: CurrentPrincipal, deps: DepsDep,
               cmd: c.LeaveTeam | None = None) -> dict:
    return handlers.leave(deps, principal, child_id, organisation_id, cmd or c.LeaveTeam())
