"""HTTP routes for the transition to school. The school joins the team with the plan
(TeamMemberJoined first, same transaction; not again for a member).

| method | path | who | event |
|---|---|---|---|
| POST | /children/{child_id}/transition | the setting (consent must cover the school for `transition`) | TeamMemberJoined transition_plan (first) + TransitionToSchoolPlanned |
| POST | /children/{child_id}/transition/complete | the setting or the school | TransitionToSchoolCompleted |
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.common.web import CurrentPrincipal
from services.referrals.domain import commands as c
from services.referrals.entrypoints.deps import DepsDep
from services.referrals.service_layer import transition as handlers

router = APIRouter(tags=["reviews, EHC, transition, caseloads"])


@router.post("/children/{child_id}/transition", status_code=201)
def plan_transition(child_id: UUID, cmd: c.PlanTransition, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.plan_transition(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/transition/complete")
def complete_transition(child_id: UUID, principal: CurrentPrincipal, deps: DepsDep,
                        cmd: c.CompleteTransition | None = None) -> dict:
    return handlers.complete_transition(deps, principal, child_id, cmd or c.CompleteTransition())
