"""Command handlers for the transition to school: planned by the setting under a consent
covering the school for `transition` (the school joins the team with the plan, before its
event), completed by the setting or the school."""

from __future__ import annotations

from uuid import UUID

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, TeamJoinRoute
from services.common.errors import Conflict, Invalid
from services.referrals.domain import clock, commands as c, rules
from services.referrals.domain.state_machine import TRANSITION, TransitionAction, TransitionState
from services.referrals.service_layer import membership
from services.referrals.service_layer.consent_checks import require_named, retried_for_missing_consent
from services.referrals.service_layer.guards import advance, allow, load_child, moved, not_in_future, within_early_years
from services.referrals.service_layer.unit_of_work import Deps, unit_of_work


@retried_for_missing_consent
def plan_transition(deps: Deps, caller, child_id: UUID, cmd: c.PlanTransition) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_setting, caller, child, "plan the transition to school")
        existing = uow.store.get_transition(child_id)
        if existing is not None and existing["state"] == TransitionState.COMPLETED:
            raise Conflict("transition to school is completed; cannot plan it again")
        if cmd.starts_on < uow.today:
            raise Invalid("starts_on must not be in the past", field="starts_on")
        within_early_years(cmd.starts_on, child, "starts_on")
        school = require_named(uow, cmd.school_organisation_id, Agency.SCHOOL, "school_organisation_id")
        # The school the child is moving to joins the team with the plan (the parents chose the
        # school: School Admissions Code 2021; the move is planned with them, SEND Code of
        # Practice 0-25 para 5.47). Joining shows it nothing: until a consent names it, it sees
        # only its own records (the decision's rule 5; SCENARIO step 12).
        uow.store.plan_transition(child_id=child_id, school_organisation_id=cmd.school_organisation_id,
                                  starts_on=cmd.starts_on)
        membership.join(uow, caller, child, school, role=school.agency.value, through=TeamJoinRoute.TRANSITION_PLAN)
        event_id = uow.emit(caller, child_id, ev.TransitionToSchoolPlanned(
            school_organisation_id=cmd.school_organisation_id, starts_on=cmd.starts_on, plan_summary=cmd.plan_summary))
    reception = clock.reception_start(child.date_of_birth)
    return {"child_id": child_id, "event_id": event_id, "state": TransitionState.PLANNED,
            "school_organisation_id": school.id, "school_organisation_name": school.name,
            "reception_place_from": reception}


def complete_transition(deps: Deps, caller, child_id: UUID, cmd: c.CompleteTransition) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        plan = uow.store.get_transition(child_id)
        if plan is None:
            allow(rules.require_setting, caller, child, "complete the transition to school")
            raise Conflict("no transition to school has been planned for this child")
        allow(rules.require_transition_completer, caller, child, plan["school_organisation_id"])
        new_state = advance(TRANSITION, plan["state"], TransitionAction.COMPLETE)
        completed_on = within_early_years(not_in_future(cmd.completed_on or uow.today, uow.today, "completed_on"), child,
                                          "completed_on")
        moved(uow.store.move("transitions", child_id, expected_state=plan["state"],
                             state=new_state, completed_on=completed_on), "the transition")
        event_id = uow.emit(caller, child_id, ev.TransitionToSchoolCompleted(
            school_organisation_id=plan["school_organisation_id"], completed_on=completed_on))
    return {"child_id": child_id, "event_id": event_id, "state": new_state}
