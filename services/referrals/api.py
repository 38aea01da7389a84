"""HTTP routes for children, concerns, referrals, the team, reports and family support.

Thin: each route builds a command, calls one handler and returns what it says; domain errors
become 403 / 404 / 409 / 422 in services.common.web. Every command produces one event on
tac.referrals.v1 (through the outbox, after commit), and a second, TeamMemberJoined, where it
brings an organisation onto the team (accepting a referral) — registering a child already
nearing 24 months also announces IntegratedReviewWindowOpened (services.referrals.review_window).

Every route naming a child, or a record of a child, answers 404 — exactly as for an unknown id
— to whoever may not know of the child: not its setting, not on its team, not a parent of it
(services.referrals.team). "who" below is what a caller who knows the child must also be (403
otherwise). Organisations named in a request are checked against the directory (422 naming the
field); responses naming an organisation carry its display name.

| method | path | who (services.referrals.domain) | event |
|---|---|---|---|
| POST | /children | a setting, for itself | ChildRegistered |
| GET | /children?name=&limit=&offset= | any practitioner or parent: the children whose team includes it | - |
| GET | /children/{child_id} | the setting, a parent (details); a team member (no personal details) | - |
| PUT | /children/{child_id}/key-person | the child's setting | KeyPersonNamed |
| POST | /children/{child_id}/concerns | the child's setting | ConcernRaised |
| POST | /children/{child_id}/referrals | the child's setting (needs consent for the receiver) | ReferralMade |
| GET | /referrals/{referral_id} | referrer, or receiver under consent | - |
| POST | /referrals/{referral_id}/accept | receiver | ReferralAccepted + TeamMemberJoined (referral_accepted) |
| POST | /referrals/{referral_id}/decline | receiver | ReferralDeclined |
| POST | /referrals/{referral_id}/withdraw | referrer | ReferralWithdrawn |
| POST | /referrals/{referral_id}/close | receiver | ReferralClosed |
| POST | /children/{child_id}/slt-reports | an involved slt_service | SLTReportShared |
| POST | /children/{child_id}/ep-advice | an involved ep_service | EPAdviceShared |
| POST | /children/{child_id}/family-support | a childrens_centre on the team | FamilySupportOffered |
| POST | /children/{child_id}/parent-observations | a parent of the child: {text, seen_on?} | ParentObservationShared (authored by the parent) |

The team and invitations: services.referrals.api_team.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request

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


@router.get("/children")
def find_children(
    principal: CurrentPrincipal,
    deps: DepsDep,
    name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    return reads.find_children(deps, principal, name=name, limit=limit, offset=offset)


@router.put("/children/{child_id}/key-person")
def name_key_person(child_id: UUID, cmd: c.NameKeyPerson, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.name_key_person(deps, principal, child_id, cmd)


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


@router.post("/children/{child_id}/slt-reports", status_code=201)
def share_slt_report(child_id: UUID, cmd: c.ShareSLTReport, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.share_slt_report(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/ep-advice", status_code=201)
def share_ep_advice(child_id: UUID, cmd: c.ShareEPAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.share_ep_advice(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/family-support", status_code=201)
def offer_family_support(child_id: UUID, cmd: c.OfferFamilySupport, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.offer_family_support(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/parent-observations", status_code=201)
def share_parent_observation(child_id: UUID, cmd: c.ShareParentObservation, principal: CurrentPrincipal,
                             deps: DepsDep) -> dict:
    return h.share_parent_observation(deps, principal, child_id, cmd)
