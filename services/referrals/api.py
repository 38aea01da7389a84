"""HTTP routes for children, concerns, referrals, the team, reports and family support.

Thin: each route builds a command, calls one handler and returns what it says; domain errors
become 403 / 404 / 409 / 422 in services.common.web. Every command produces exactly one event
on tac.referrals.v1 (through the outbox, after commit) — registering a child already nearing 24
months also announces IntegratedReviewWindowOpened (services.referrals.review_window). A read
the caller may not make answers 404, like an unknown id (services.referrals.reads).

| method | path | who (services.referrals.domain) | event |
|---|---|---|---|
| POST | /children | a setting, for itself | ChildRegistered |
| GET | /children/{child_id} | the child's setting, a parent of the child | - |
| POST | /children/{child_id}/concerns | the child's setting | ConcernRaised |
| POST | /children/{child_id}/referrals | the child's setting (needs consent for the receiver) | ReferralMade |
| GET | /referrals/{referral_id} | referrer, or receiver under consent | - |
| POST | /referrals/{referral_id}/accept | receiver | ReferralAccepted |
| POST | /referrals/{referral_id}/decline | receiver | ReferralDeclined |
| POST | /referrals/{referral_id}/withdraw | referrer | ReferralWithdrawn |
| POST | /referrals/{referral_id}/close | receiver | ReferralClosed |
| POST | /children/{child_id}/team | the joining organisation or the setting | TeamMemberJoined |
| POST | /children/{child_id}/team/{organisation_id}/leave | the leaving organisation or the setting | TeamMemberLeft |
| POST | /children/{child_id}/slt-reports | an involved slt_service | SLTReportShared |
| POST | /children/{child_id}/ep-advice | an involved ep_service | EPAdviceShared |
| POST | /children/{child_id}/family-support | a childrens_centre | FamilySupportOffered |
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request

from services.common.web import CurrentPrincipal
from services.referrals import commands as c, handlers as h, reads
from services.referrals.unit_of_work import Deps


def get_deps(request: Request) -> Deps:
    return request.app.state.deps


DepsDep = Annotated[Deps, Depends(get_deps)]
OrgPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]

router = APIRouter(tags=["children and referrals"])


@router.post("/children", status_code=201)
def register_child(cmd: c.RegisterChild, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.register_child(deps, principal, cmd)


@router.get("/children/{child_id}")
def read_child(child_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_child(deps, principal, child_id)


@router.post("/children/{child_id}/concerns", status_code=201)
def raise_concern(child_id: UUID, cmd: c.RaiseConcern, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.raise_concern(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/referrals", status_code=201)
def make_referral(child_id: UUID, cmd: c.MakeReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.make_referral(deps, principal, child_id, cmd)


@router.get("/referrals/{referral_id}")
def read_referral(referral_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_referral(deps, principal, referral_id)


@router.post("/referrals/{referral_id}/accept")
def accept_referral(referral_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.accept_referral(deps, principal, referral_id)


@router.post("/referrals/{referral_id}/decline")
def decline_referral(referral_id: UUID, cmd: c.DeclineReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.decline_referral(deps, principal, referral_id, cmd)


@router.post("/referrals/{referral_id}/withdraw")
def withdraw_referral(referral_id: UUID, cmd: c.WithdrawReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.withdraw_referral(deps, principal, referral_id, cmd)


@router.post("/referrals/{referral_id}/close")
def close_referral(referral_id: UUID, cmd: c.CloseReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.close_referral(deps, principal, referral_id, cmd)


@router.post("/children/{child_id}/team", status_code=201)
def join_team(child_id: UUID, cmd: c.JoinTeam, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.join_team(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/team/{organisation_id}/leave")
def leave_team(child_id: UUID, organisation_id: OrgPath, principal: CurrentPrincipal, deps: DepsDep,
               cmd: c.LeaveTeam | None = None) -> dict:
    return h.leave_team(deps, principal, child_id, organisation_id, cmd or c.LeaveTeam())


@router.post("/children/{child_id}/slt-reports", status_code=201)
def share_slt_report(child_id: UUID, cmd: c.ShareSLTReport, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.share_slt_report(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/ep-advice", status_code=201)
def share_ep_advice(child_id: UUID, cmd: c.ShareEPAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.share_ep_advice(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/family-support", status_code=201)
def offer_family_support(child_id: UUID, cmd: c.OfferFamilySupport, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.offer_family_support(deps, principal, child_id, cmd)
