"""Command handlers for the EHC needs assessment (DESIGN §2, §5), and why a request joins its
addressee to the team (service_layer.reviews and transition do the same). Same shape as
service_layer.children: load the child (404 to
anyone who may not know of it), check who may, check the organisation the command names
against the directory and the consent it needs (domain.access), check the
transition and the dates (within the child's early years), write state and events in one
transaction.

A request addressed to an organisation puts it on the child's team WHEN THE REQUEST IS MADE,
in the same transaction (TeamMemberJoined, once: not again when already a member), and the
TeamMemberJoined is queued BEFORE the request's event, so that a consumer folding the child's
partition in order has the addressee on the team when it decides about the request (who is
notified of it, who sees it): the local
authority named in an EHC needs assessment request (ehc_request), the organisation asked for
EHC advice (advice_request), the partner of an integrated review (review_partner) and the
school named in a transition plan (transition_plan). Why: services/referrals/README.md.
Answers name the organisation whose request they answer: EHCAdviceSubmitted the local
authority that asked, EHCAssessmentStarted / Declined the organisation that requested it."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, Category, TeamJoinRoute
from services.common.errors import Conflict, Invalid, NotFound
from services.referrals.domain import clock, commands as c, rules
from services.referrals.domain.state_machine import EHC_ASSESSMENT, OPEN_EHC_STATES, EHCAction, EHCState
from services.referrals.service_layer import membership
from services.referrals.service_layer.consent_checks import require_consent, require_named, retried_for_missing_consent
from services.referrals.service_layer.guards import advance, allow, load_child, load_record, moved, not_in_future, within_early_years
from services.referrals.service_layer.unit_of_work import Deps, UnitOfWork, unit_of_work


@retried_for_missing_consent
def request_ehc(deps: Deps, caller, child_id: UUID, cmd: c.RequestEHCAssessment) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        requested_by = allow(rules.require_ehc_requester, caller, child)
        if uow.store.open_ehc_for_child(child_id, OPEN_EHC_STATES) is not None:
            raise Conflict("an EHC needs assessment request is already open for this child")
        requested_on = within_early_years(not_in_future(cmd.received_on or uow.today, uow.today, "received_on"), child,
                                          "received_on")
        # Children and Families Act 2014 s.36(1): the request goes to the local authority, whose
        # SEN team runs the assessment; it learns who the child is, so the family's consent must
        # cover it for `ehc` — also when a parent asks (the parent records that consent in the
        # consent service; the LA's caseload shows the request under it).
        la = require_named(uow, cmd.la_organisation_id, Agency.LA_SEN_TEAM, "la_organisation_id")
        require_consent(uow, child_id, cmd.la_organisation_id, Agency.LA_SEN_TEAM, Category.EHC)
        request_id = uuid4()
        uow.store.add_ehc(request_id=request_id, child_id=child_id, la_organisation_id=cmd.la_organisation_id,
                          requested_on=requested_on, requested_by=requested_by, state=str(EHCState.REQUESTED), exceptions=[],
                          requested_by_organisation_id=caller.organisation_id if requested_by == "setting" else None)
        # SEND Regulations 2014 reg. 5: the LA must answer within 6 weeks: it works with the
        # child from the moment the request is made — on the team before the request's event.
        membership.join(uow, caller, child, la, role=la.agency.value, through=TeamJoinRoute.EHC_REQUEST, request_id=request_id)
        event_id = uow.emit(caller, child_id, ev.EHCAssessmentRequested(
            request_id=request_id, requested_on=requested_on, requested_by=requested_by,
            la_organisation_id=cmd.la_organisation_id, due_dates=clock.ehc_due_dates(requested_on)))
    return {"request_id": request_id, "event_id": event_id, "state": EHCState.REQUESTED,
            "la_organisation_id": la.id, "la_organisation_name": la.name,
            "due_dates": [d.model_dump() for d in clock.ehc_due_dates(requested_on)]}


def _load_ehc(uow: UnitOfWork, caller, request_id: UUID, doing: str):
    missing = NotFound(f"no EHC needs assessment request {request_id}")
    row = uow.store.get_ehc(request_id)
    load_record(uow, caller, row, missing)
    allow(rules.require_la, caller, row["la_organisation_id"], doing)
    return row


def _decision_day(value: date | None, uow: UnitOfWork, row, field: str) -> date:
    day = not_in_future(value or uow.today, uow.today, field)
    if day < row["requested_on"]:
        raise Invalid(f"{field} must not be before the request was received ({row['requested_on']})", field=field)
    return day


def _move_request(uow: UnitOfWork, request_id: UUID, row, new_state: str, **dates) -> None:
    """The request moved on from the state it was read in (409 when someone else moved it first)."""
    moved(uow.store.move("ehc_requests", request_id, expected_state=row["state"], state=new_state, **dates),
          "the EHC request")


def start_ehc(deps: Deps, caller, request_id: UUID, cmd: c.StartEHCAssessment) -> dict:
    return _decide(deps, caller, request_id, EHCAction.START, "decide to assess", cmd.decided_on, ev.EHCAssessmentStarted)


def decline_ehc(deps: Deps, caller, request_id: UUID, cmd: c.DeclineEHCAssessment) -> dict:
    return _decide(deps, caller, request_id, EHCAction.DECLINE, "decline to assess", cmd.decided_on,
                   ev.EHCAssessmentDeclined, reason=cmd.reason)


def _decide(deps: Deps, caller, request_id: UUID, action: EHCAction, doing: str, decided_on: date | None,
            event: type[ev.EHCAssessmentStarted | ev.EHCAssessmentDeclined], **said) -> dict:
    """The local authority's decision whether to assess (start or decline), told to the
    organisation that requested it."""
    with unit_of_work(deps) as uow:
        row = _load_ehc(uow, caller, request_id, doing)
        new_state = advance(EHC_ASSESSMENT, row["state"], action)
        day = _decision_day(decided_on, uow, row, "decided_on")
        _move_request(uow, request_id, row, new_state, decided_on=day)
        event_id = uow.emit(caller, UUID(row["child_id"]), event(
            request_id=request_id, requested_by_organisation_id=row["requested_by_organisation_id"], decided_on=day, **said))
    return {"request_id": request_id, "event_id": event_id, "state": new_state}


@retried_for_missing_consent
def request_advice(deps: Deps, caller, request_id: UUID, cmd: c.RequestEHCAdvice) -> dict:
    with unit_of_work(deps) as uow:
        row = _load_ehc(uow, caller, request_id, "request EHC advice")
        advance(EHC_ASSESSMENT, row["state"], EHCAction.REQUEST_ADVICE)
        if cmd.from_agency == Agency.PARENT:
            raise Invalid("from_agency: advice is asked of an organisation", field="from_agency")
        asked_on = _decision_day(cmd.requested_on, uow, row, "requested_on")
        # SEND Regulations 2014 reg. 6(1): the LA seeks advice from those it names; the request
        # shares the child with them, so consent must cover them for `ehc`.
        asked = require_named(uow, cmd.from_organisation_id, cmd.from_agency, "from_organisation_id", "from_agency")
        require_consent(uow, UUID(row["child_id"]), cmd.from_organisation_id, cmd.from_agency, Category.EHC)
        due = clock.ehc_advice_due(asked_on)
        advice_id = uuid4()
        uow.store.add_advice(advice_id=advice_id, request_id=request_id, child_id=UUID(row["child_id"]),
                             from_organisation_id=cmd.from_organisation_id, from_agency=str(cmd.from_agency),
                             requested_on=asked_on, due_on=due.due_on)
        # SEND Regulations 2014 reg. 8: the advice must be given within 6 weeks of being asked:
        # the organisation asked is on the team before the request's event.
        membership.join(uow, caller, uow.store.get_child(UUID(row["child_id"])), asked, role=asked.agency.value,
                        through=TeamJoinRoute.ADVICE_REQUEST, request_id=advice_id)
        event_id = uow.emit(caller, UUID(row["child_id"]), ev.EHCAdviceRequested(
            request_id=request_id, advice_id=advice_id, from_organisation_id=cmd.from_organisation_id,
            from_agency=cmd.from_agency, requested_on=asked_on, due_on=due.due_on))
    return {"advice_id": advice_id, "request_id": request_id, "event_id": event_id, "due": due.model_dump(),
            "from_organisation_id": asked.id, "from_organisation_name": asked.name}


def submit_advice(deps: Deps, caller, advice_id: UUID, cmd: c.SubmitEHCAdvice) -> dict:
    with unit_of_work(deps) as uow:
        missing = NotFound(f"no EHC advice request {advice_id}")
        advice = uow.store.get_advice(advice_id)
        load_record(uow, caller, advice, missing)
        allow(rules.require_asked, caller, advice["from_organisation_id"])
        if advice["submitted_on"] is not None:
            raise Conflict(f"this advice was already submitted on {advice['submitted_on']}")
        row = uow.store.get_ehc(UUID(advice["request_id"]))
        if row["state"] not in (EHCState.STARTED, EHCState.DRAFT_ISSUED):
            raise Conflict(f"EHC needs assessment is {row['state']}; cannot submit advice")
        submitted_on = not_in_future(cmd.submitted_on or uow.today, uow.today, "submitted_on")
        if submitted_on < advice["requested_on"]:
            raise Invalid("submitted_on must not be before the advice was asked for", field="submitted_on")
        moved(uow.store.mark_advice_submitted(advice_id, submitted_on), "the advice request")
        event_id = uow.emit(caller, UUID(advice["child_id"]), ev.EHCAdviceSubmitted(
            request_id=UUID(advice["request_id"]), advice_id=advice_id, requested_by_organisation_id=row["la_organisation_id"],
            submitted_on=submitted_on, summary=cmd.summary))
    return {"advice_id": advice_id, "event_id": event_id, "submitted_on": submitted_on}


def issue_draft(deps: Deps, caller, request_id: UUID, cmd: c.IssueDraftPlan) -> dict:
    with unit_of_work(deps) as uow:
        row = _load_ehc(uow, caller, request_id, "issue a draft EHC plan")
        new_state = advance(EHC_ASSESSMENT, row["state"], EHCAction.ISSUE_DRAFT)
        issued_on = _decision_day(cmd.issued_on, uow, row, "issued_on")
        minimum = clock.draft_comments_due(issued_on)
        comments_due = cmd.comments_due_on or minimum.due_on
        if comments_due < minimum.due_on:
            raise Invalid(f"comments_due_on must be on or after {minimum.due_on} ({minimum.reference})", field="comments_due_on")
        _move_request(uow, request_id, row, new_state, draft_issued_on=issued_on, comments_due_on=comments_due)
        event_id = uow.emit(caller, UUID(row["child_id"]), ev.EHCDraftPlanIssued(
            request_id=request_id, issued_on=issued_on, comments_due_on=comments_due))
    return {"request_id": request_id, "event_id": event_id, "state": new_state, "comments_due_on": comments_due}


def finalise_plan(deps: Deps, caller, request_id: UUID, cmd: c.FinalisePlan) -> dict:
    with unit_of_work(deps) as uow:
        row = _load_ehc(uow, caller, request_id, "finalise the EHC plan")
        new_state = advance(EHC_ASSESSMENT, row["state"], EHCAction.FINALISE)
        finalised_on = _decision_day(cmd.finalised_on, uow, row, "finalised_on")
        if row["comments_due_on"] and finalised_on < row["comments_due_on"]:
            raise Invalid(f"finalised_on: the parent has until {row['comments_due_on']} to comment on the draft "
                          f"({clock.REF_EHC_DRAFT})", field="finalised_on")
        exceptions = list(dict.fromkeys(cmd.exceptions))  # recorded as given, once each; never applied silently
        _move_request(uow, request_id, row, new_state, finalised_on=finalised_on, exceptions=[str(e) for e in exceptions])
        event_id = uow.emit(caller, UUID(row["child_id"]), ev.EHCPlanFinalised(
            request_id=request_id, finalised_on=finalised_on, exceptions=tuple(exceptions)))
    final_due = next(d for d in clock.ehc_due_dates(row["requested_on"]) if d.kind == clock.EHC_FINAL_PLAN)
    late = finalised_on > final_due.due_on
    return {"request_id": request_id, "event_id": event_id, "state": new_state, "final_plan_due": final_due.model_dump(),
            "late": late, "excused_by": [str(e) for e in exceptions] if late else []}


def give_parent_views(deps: Deps, caller, request_id: UUID, cmd: c.GiveEHCParentViews) -> dict:
    """The parent's views, wishes and feelings, and the child's, which the local authority must
    seek during the assessment (SEND Regulations 2014 reg. 6(1)(a), 7): the parent's own entry
    (EHCParentViewsGiven, authored by the parent) and the parent's advice received on the
    request. Given while the request is open (requested, being assessed, draft plan issued);
    once it is declined or the plan finalised, a 409 says so. Only a parent of the child: a
    practitioner who knows the child gets 403, anyone else the 404 of an unknown request."""
    with unit_of_work(deps) as uow:
        missing = NotFound(f"no EHC needs assessment request {request_id}")
        row = uow.store.get_ehc(request_id)
        child = load_record(uow, caller, row, missing)
        allow(rules.require_parent_of, caller, child, "give the parent's views: they are the parent's own")
        if row["state"] not in OPEN_EHC_STATES:
            ended = "the local authority decided not to assess" if row["state"] == EHCState.DECLINED \
                else "the EHC plan is finalised"
            raise Conflict(f"the EHC needs assessment request is {row['state']} ({ended}): views are given while the "
                           f"request is open")
        views_id = uuid4()
        uow.store.add_parent_views(views_id=views_id, request_id=request_id, child_id=child.child_id,
                                   given_by=caller.practitioner_id, given_on=uow.today, given_at=uow.now,
                                   parent_views=cmd.parent_views, child_views=cmd.child_views)
        event_id = uow.emit(caller, child.child_id, ev.EHCParentViewsGiven(
            request_id=request_id, views_id=views_id, parent_views=cmd.parent_views, child_views=cmd.child_views))
    return {"views_id": views_id, "request_id": request_id, "event_id": event_id, "given_on": uow.today,
            "parent_views": cmd.parent_views, "child_views": cmd.child_views}
