"""HTTP routes for EHC needs assessments. A request addressed to an organisation puts it on the
team when it is made (TeamMemberJoined first, same transaction; not again for a member):
services/referrals/README.md. Casework dates lie within the child's early years (422).

| method | path | who | event |
|---|---|---|---|
| POST | /children/{child_id}/ehc-requests | the setting or a parent of the child (consent must cover the LA) | TeamMemberJoined ehc_request (first) + EHCAssessmentRequested |
| GET | /ehc-requests/{request_id} | the LA, the setting, a parent, under consent; lists `advice` and the parent's views received (`parent_views`, `advice_received` counts both) | - |
| POST | /ehc-requests/{request_id}/start | the LA asked | EHCAssessmentStarted |
| POST | /ehc-requests/{request_id}/decline | the LA asked | EHCAssessmentDeclined |
| POST | /ehc-requests/{request_id}/advice-requests | the LA asked (consent must cover the organisation asked) | TeamMemberJoined advice_request (first) + EHCAdviceRequested |
| POST | /ehc-advice/{advice_id}/submit | the organisation asked | EHCAdviceSubmitted |
| POST | /ehc-requests/{request_id}/parent-views | a parent of the child, while the request is open (409 after): {parent_views, child_views?} | EHCParentViewsGiven (authored by the parent) |
| POST | /ehc-requests/{request_id}/draft-plan | the LA asked | EHCDraftPlanIssued |
| POST | /ehc-requests/{request_id}/final-plan | the LA asked | EHCPlanFinalised |
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.common.web import CurrentPrincipal
from services.referrals.domain import commands as c
from services.referrals.entrypoints.deps import DepsDep
from services.referrals.service_layer import casework_reads as reads, ehc as handlers

router = APIRouter(tags=["reviews, EHC, transition, caseloads"])


@router.post("/children/{child_id}/ehc-requests", status_code=201)
def request_ehc(child_id: UUID, cmd: c.RequestEHCAssessment, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.request_ehc(deps, principal, child_id, cmd)


@router.get("/ehc-requests/{request_id}")
def read_ehc(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_ehc(deps, principal, request_id)


@router.post("/ehc-requests/{request_id}/start")
def start_ehc(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep, cmd: c.StartEHCAssessment | None = None) -> dict:
    return handlers.start_ehc(deps, principal, request_id, cmd or c.StartEHCAssessment())


@router.post("/ehc-requests/{request_id}/decline")
def decline_ehc(request_id: UUID, cmd: c.DeclineEHCAssessment, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.decline_ehc(deps, principal, request_id, cmd)


@router.post("/ehc-requests/{request_id}/advice-requests", status_code=201)
def request_advice(request_id: UUID, cmd: c.RequestEHCAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.request_advice(deps, principal, request_id, cmd)


@router.post("/ehc-advice/{advice_id}/submit")
def submit_advice(advice_id: UUID, cmd: c.SubmitEHCAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.submit_advice(deps, principal, advice_id, cmd)


@router.post("/ehc-requests/{request_id}/parent-views", status_code=201)
def give_parent_views(request_id: UUID, cmd: c.GiveEHCParentViews, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.give_parent_views(deps, principal, request_id, cmd)


@router.post("/ehc-requests/{request_id}/draft-plan")
def issue_draft(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep, cmd: c.IssueDraftPlan | None = None) -> dict:
    return handlers.issue_draft(deps, principal, request_id, cmd or c.IssueDraftPlan())


@router.post("/ehc-requests/{request_id}/final-plan")
def finalise_plan(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep, cmd: c.FinalisePlan | None = None) -> dict:
    return handlers.finalise_plan(deps, principal, request_id, cmd or c.FinalisePlan())
