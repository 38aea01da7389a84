"""HTTP routes for integrated reviews, EHC needs assessments, transition to school and
caseloads. Thin, like services.referrals.api: every route naming a child or a record of one
answers the 404 of an unknown id to whoever may not know of the child; "who" is what a caller
who knows the child must also be (403 otherwise). A request addressed to an organisation puts
it on the team when it is made (TeamMemberJoined in the same transaction; not again for a
member): services/referrals/README.md. Casework dates lie within the child's early years (422).

| method | path | who | event |
|---|---|---|---|
| POST | /children/{child_id}/integrated-reviews | health_visiting on the team (under consent) or the setting; a partner needs consent | TeamMemberJoined review_partner (first) + IntegratedReviewScheduled |
| POST | /integrated-reviews/{review_id}/complete | the setting, or the scheduler / invitee | IntegratedReviewCompleted |
| POST | /children/{child_id}/ehc-requests | the setting or a parent of the child (consent must cover the LA) | TeamMemberJoined ehc_request (first) + EHCAssessmentRequested |
| GET | /ehc-requests/{request_id} | the LA, the setting, a parent, under consent; lists `advice` and the parent's views received (`parent_views`, `advice_received` counts both) | - |
| POST | /ehc-requests/{request_id}/start | the LA asked | EHCAssessmentStarted |
| POST | /ehc-requests/{request_id}/decline | the LA asked | EHCAssessmentDeclined |
| POST | /ehc-requests/{request_id}/advice-requests | the LA asked (consent must cover the organisation asked) | TeamMemberJoined advice_request (first) + EHCAdviceRequested |
| POST | /ehc-advice/{advice_id}/submit | the organisation asked | EHCAdviceSubmitted |
| POST | /ehc-requests/{request_id}/parent-views | a parent of the child, while the request is open (409 after): {parent_views, child_views?} | EHCParentViewsGiven (authored by the parent) |
| POST | /ehc-requests/{request_id}/draft-plan | the LA asked | EHCDraftPlanIssued |
| POST | /ehc-requests/{request_id}/final-plan | the LA asked | EHCPlanFinalised |
| POST | /children/{child_id}/transition | the setting (consent must cover the school for `transition`) | TeamMemberJoined transition_plan (first) + TransitionToSchoolPlanned |
| POST | /children/{child_id}/transition/complete | the setting or the school | TransitionToSchoolCompleted |
| GET | /caseload | any practitioner, for their organisation, under consent and on the team; `child_name` only where access.may_see_details says so | - |
| GET | /caseload/integrated-reviews | health_visiting, on the team under consent, children whose details access.may_see_details lets it see | - |
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from services.common.web import CurrentPrincipal
from services.referrals import commands as c, handlers_casework as h, queries, reads
from services.referrals.api import DepsDep

router = APIRouter(tags=["reviews, EHC, transition, caseloads"])


@router.post("/children/{child_id}/integrated-reviews", status_code=201)
def schedule_review(child_id: UUID, cmd: c.ScheduleIntegratedReview, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.schedule_review(deps, principal, child_id, cmd)


@router.post("/integrated-reviews/{review_id}/complete")
def complete_review(review_id: UUID, cmd: c.CompleteIntegratedReview, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.complete_review(deps, principal, review_id, cmd)


@router.post("/children/{child_id}/ehc-requests", status_code=201)
def request_ehc(child_id: UUID, cmd: c.RequestEHCAssessment, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.request_ehc(deps, principal, child_id, cmd)


@router.get("/ehc-requests/{request_id}")
def read_ehc(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_ehc(deps, principal, request_id)


@router.post("/ehc-requests/{request_id}/start")
def start_ehc(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep, cmd: c.StartEHCAssessment | None = None) -> dict:
    return h.start_ehc(deps, principal, request_id, cmd or c.StartEHCAssessment())


@router.post("/ehc-requests/{request_id}/decline")
def decline_ehc(request_id: UUID, cmd: c.DeclineEHCAssessment, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.decline_ehc(deps, principal, request_id, cmd)


@router.post("/ehc-requests/{request_id}/advice-requests", status_code=201)
def request_advice(request_id: UUID, cmd: c.RequestEHCAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.request_advice(deps, principal, request_id, cmd)


@router.post("/ehc-advice/{advice_id}/submit")
def submit_advice(advice_id: UUID, cmd: c.SubmitEHCAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.submit_advice(deps, principal, advice_id, cmd)


@router.post("/ehc-requests/{request_id}/parent-views", status_code=201)
def give_parent_views(request_id: UUID, cmd: c.GiveEHCParentViews, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.give_parent_views(deps, principal, request_id, cmd)


@router.post("/ehc-requests/{request_id}/draft-plan")
def issue_draft(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep, cmd: c.IssueDraftPlan | None = None) -> dict:
    return h.issue_draft(deps, principal, request_id, cmd or c.IssueDraftPlan())


@router.post("/ehc-requests/{request_id}/final-plan")
def finalise_plan(request_id: UUID, principal: CurrentPrincipal, deps: DepsDep, cmd: c.FinalisePlan | None = None) -> dict:
    return h.finalise_plan(deps, principal, request_id, cmd or c.FinalisePlan())


@router.post("/children/{child_id}/transition", status_code=201)
def plan_transition(child_id: UUID, cmd: c.PlanTransition, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return h.plan_transition(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/transition/complete")
def complete_transition(child_id: UUID, principal: CurrentPrincipal, deps: DepsDep,
                        cmd: c.CompleteTransition | None = None) -> dict:
    return h.complete_transition(deps, principal, child_id, cmd or c.CompleteTransition())


@router.get("/caseload")
def caseload(
    principal: CurrentPrincipal,
    deps: DepsDep,
    kind: Annotated[Literal["referral", "advice", "ehc", "integrated_review"] | None, Query()] = None,
    overdue_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    return queries.caseload(deps, principal, kind=kind, overdue_only=overdue_only, limit=limit, offset=offset)


@router.get("/caseload/integrated-reviews")
def integrated_review_list(
    principal: CurrentPrincipal,
    deps: DepsDep,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    return queries.review_watch(deps, principal, limit=limit, offset=offset)
