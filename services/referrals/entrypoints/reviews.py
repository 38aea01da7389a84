"""HTTP routes for integrated reviews. A partner named joins the team when the review is
scheduled (TeamMemberJoined first, same transaction; not again for a member).

| method | path | who | event |
|---|---|---|---|
| POST | /children/{child_id}/integrated-reviews | health_visiting on the team (under consent) or the setting; a partner needs consent | TeamMemberJoined review_partner (first) + IntegratedReviewScheduled |
| POST | /integrated-reviews/{review_id}/complete | the setting, or the scheduler / invitee | IntegratedReviewCompleted |
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.common.web import CurrentPrincipal
from services.referrals.domain import commands as c
from services.referrals.entrypoints.deps import DepsDep
from services.referrals.service_layer import reviews as handlers

router = APIRouter(tags=["reviews, EHC, transition, caseloads"])


@router.post("/children/{child_id}/integrated-reviews", status_code=201)
def schedule_review(child_id: UUID, cmd: c.ScheduleIntegratedReview, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.schedule_review(deps, principal, child_id, cmd)


@router.post("/integrated-reviews/{review_id}/complete")
def complete_review(review_id: UUID, cmd: c.CompleteIntegratedReview, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.complete_review(deps, principal, review_id, cmd)
