"""Command handlers for the integrated review (DESIGN §5; EYFS progress check at two with the
HCP review): scheduled by the setting or a health visiting service the family's consent lets
see `health`; a partner named joins the team when the review is scheduled, before its event
(why: service_layer.ehc). Completed by the setting, the scheduler or the partner."""

from __future__ import annotations

from uuid import UUID, uuid4

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, Category, TeamJoinRoute
from services.common.directory import Organisation
from services.common.errors import Invalid, NotFound
from services.referrals.domain import commands as c, rules
from services.referrals.domain.state_machine import INTEGRATED_REVIEW, ReviewAction, ReviewState
from services.referrals.service_layer import membership
from services.referrals.service_layer.consent_checks import (require_consent, require_may_see, require_named,
                                                             retried_for_missing_consent)
from services.referrals.service_layer.guards import advance, allow, load_child, load_record, moved, not_in_future, within_early_years
from services.referrals.service_layer.unit_of_work import Deps, UnitOfWork, unit_of_work


def _review_partner(uow: UnitOfWork, caller, child: rules.ChildRecord,
                    cmd: c.ScheduleIntegratedReview) -> tuple[str | None, Organisation | None]:
    """The agency of the organisation the review is scheduled with, once it may be named, and
    the organisation from the directory when it is not the child's own setting."""
    partner = cmd.with_organisation_id
    if partner is None:
        if cmd.with_agency is not None:
            raise Invalid("with_agency: name with_organisation_id too, or leave both out", field="with_agency")
        return None, None
    if partner == caller.organisation_id:
        raise Invalid("with_organisation_id: a review is scheduled with another organisation", field="with_organisation_id")
    if partner == child.setting_organisation_id:
        # The child's own setting: it made the child's record and does the EYFS progress check
        # at two that the integrated review combines with the HCP review (EYFS statutory
        # framework, section 2), so naming it tells it nothing about the child it does not hold.
        # What it may read of the review is still decided by consent, at read time.
        if cmd.with_agency not in (None, Agency.SETTING):
            raise Invalid(f"with_agency: {partner} is the child's setting", field="with_agency")
        return str(Agency.SETTING), None
    if cmd.with_agency is None:
        raise Invalid("with_agency: say what with_organisation_id is (its agency)", field="with_agency")
    if cmd.with_agency is Agency.PARENT:
        raise Invalid("with_agency: a review is scheduled with an organisation", field="with_agency")
    organisation = require_named(uow, partner, cmd.with_agency, "with_organisation_id", "with_agency")
    require_consent(uow, child.child_id, partner, cmd.with_agency, Category.HEALTH)
    return str(cmd.with_agency), organisation


@retried_for_missing_consent
def schedule_review(deps: Deps, caller, child_id: UUID, cmd: c.ScheduleIntegratedReview) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_review_scheduler, caller, child)
        if cmd.scheduled_for < uow.today:
            raise Invalid("scheduled_for must not be in the past", field="scheduled_for")
        within_early_years(cmd.scheduled_for, child, "scheduled_for")
        if caller.organisation_id != child.setting_organisation_id:
            # A health visiting service works by area, which TAC does not know: what lets it
            # record a review of this child is the family's consent to share `health` with it
            # (or a safeguarding grant), as for the review list (services.referrals.service_layer.caseloads).
            require_may_see(uow, caller, child_id, child.setting_organisation_id, Category.HEALTH)
        with_agency, partner = _review_partner(uow, caller, child, cmd)
        review_id = uuid4()
        uow.store.add_review(review_id=review_id, child_id=child_id, state=str(ReviewState.SCHEDULED),
                             recorded_on=uow.today, scheduled_for=cmd.scheduled_for,
                             scheduled_by_organisation_id=caller.organisation_id, with_organisation_id=cmd.with_organisation_id,
                             with_agency=with_agency)
        if partner is not None:  # on the team before the request it is to answer (module docstring)
            membership.join(uow, caller, child, partner, role=partner.agency.value, through=TeamJoinRoute.REVIEW_PARTNER,
                            request_id=review_id)
        event_id = uow.emit(caller, child_id, ev.IntegratedReviewScheduled(
            review_id=review_id, scheduled_for=cmd.scheduled_for, with_organisation_id=cmd.with_organisation_id))
    return {"review_id": review_id, "event_id": event_id, "state": ReviewState.SCHEDULED,
            "with_organisation_id": cmd.with_organisation_id,
            "with_organisation_name": uow.deps.directory.name_of(cmd.with_organisation_id)}


def complete_review(deps: Deps, caller, review_id: UUID, cmd: c.CompleteIntegratedReview) -> dict:
    with unit_of_work(deps) as uow:
        missing = NotFound(f"no integrated review {review_id}")
        review = uow.store.get_review(review_id)
        child = load_record(uow, caller, review, missing)
        allow(rules.require_review_completer, caller, child, review["scheduled_by_organisation_id"], review["with_organisation_id"])
        new_state = advance(INTEGRATED_REVIEW, review["state"], ReviewAction.COMPLETE)
        within_early_years(not_in_future(cmd.completed_on, uow.today, "completed_on"), child, "completed_on")
        moved(uow.store.move("integrated_reviews", review_id, expected_state=review["state"],
                             state=new_state, completed_on=cmd.completed_on), "the integrated review")
        event_id = uow.emit(caller, child.child_id, ev.IntegratedReviewCompleted(
            review_id=review_id, completed_on=cmd.completed_on, outcomes=dict(cmd.outcomes)))
    return {"review_id": review_id, "event_id": event_id, "state": new_state}
