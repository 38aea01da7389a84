"""HTTP routes for referrals. Accepting brings the receiver onto the team: a second event,
TeamMemberJoined (referral_accepted), in the same transaction.

| method | path | who | event |
|---|---|---|---|
| POST | /children/{child_id}/referrals | the child's setting (needs consent for the receiver) | ReferralMade |
| GET | /referrals/{referral_id} | referrer, or receiver under consent | - |
| POST | /referrals/{referral_id}/accept | receiver | ReferralAccepted + TeamMemberJoined (referral_accepted) |
| POST | /referrals/{referral_id}/decline | receiver | ReferralDeclined |
| POST | /referrals/{referral_id}/withdraw | referrer | ReferralWithdrawn |
| POST | /referrals/{referral_id}/close | receiver | ReferralClosed |
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.common.web import CurrentPrincipal
from services.referrals.domain import commands as c
from services.referrals.entrypoints.deps import DepsDep
from services.referrals.service_layer import casework_reads as reads, referrals as handlers

router = APIRouter(tags=["children and referrals"])


@router.post("/children/{child_id}/referrals", status_code=201)
def make_referral(child_id: UUID, cmd: c.MakeReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.make_referral(deps, principal, child_id, cmd)


@router.get("/referrals/{referral_id}")
def read_referral(referral_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_referral(deps, principal, referral_id)


@router.post("/referrals/{referral_id}/accept")
def accept_referral(referral_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.accept_referral(deps, principal, referral_id)


@router.post("/referrals/{referral_id}/decline")
def decline_referral(referral_id: UUID, cmd: c.DeclineReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.decline_referral(deps, principal, referral_id, cmd)


@router.post("/referrals/{referral_id}/withdraw")
def withdraw_referral(referral_id: UUID, cmd: c.WithdrawReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.withdraw_referral(deps, principal, referral_id, cmd)


@router.post("/referrals/{referral_id}/close")
def close_referral(referral_id: UUID, cmd: c.CloseReferral, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.close_referral(deps, principal, referral_id, cmd)
