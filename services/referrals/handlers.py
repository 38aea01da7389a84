"""Command handlers for children, concerns, referrals and the team around the child.

Each handler: load, check who may (services.referrals.domain), check the consent a write
naming another organisation needs (services.referrals.consent_checks), check the transition
(services.referrals.state_machine), write the state and its event in one transaction. Domain
refusals become services.common.errors (403 / 404 / 409 / 422) here, so routes stay thin.
Reads live in services.referrals.reads and services.referrals.queries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, Category
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.referrals import clock, commands as c, domain, review_window, store
from services.referrals.consent_checks import catching_up, require_agency, require_consent
from services.referrals.domain import ChildRecord, NotPermitted, ReferralRecord
from services.referrals.state_machine import REFERRAL, IllegalTransition, Machine, ReferralAction, ReferralState
from services.referrals.unit_of_work import Deps, UnitOfWork, unit_of_work

# A setting registers children under five; allow a little over for late registrations
# (a child whose reception start was deferred) but refuse obvious typos.
MAX_AGE_AT_REGISTRATION = timedelta(days=7 * 366)


# --- helpers shared with handlers_casework -------------------------------------------------


def allow(rule: Callable[..., Any], *args: Any) -> Any:
    try:
        return rule(*args)
    except NotPermitted as e:
        raise Forbidden(str(e)) from None


def advance(machine: Machine, current: str, action: str) -> str:
    try:
        return machine.next(current, action)
    except IllegalTransition as e:
        raise Conflict(str(e)) from None


def load_child(uow: UnitOfWork, child_id: UUID) -> ChildRecord:
    child = store.get_child(uow.session, child_id)
    if child is None:
        raise NotFound(f"no child {child_id}")
    return child


def not_in_future(value: date, today: date, field: str) -> date:
    if value > today:
        raise Invalid(f"{field} must not be in the future", field=field)
    return value


def moved(ok: bool, what: str) -> None:
    if not ok:
        raise Conflict(f"{what} was changed by someone else at the same time; reload and try again")


# --- children and concerns -------------------------------------------------------------------


def register_child(deps: Deps, caller, cmd: c.RegisterChild) -> dict:
    setting = cmd.setting_organisation_id or caller.organisation_id
    allow(domain.require_may_register, caller, setting)
    with unit_of_work(deps) as uow:
        not_in_future(cmd.date_of_birth, uow.today, "date_of_birth")
        if uow.today - cmd.date_of_birth > MAX_AGE_AT_REGISTRATION:
            raise Invalid("date_of_birth: TAC is for children under five", field="date_of_birth")
        child_id = uuid4()
        store.add_child(uow.session, child_id=child_id, given_name=cmd.given_name, family_name=cmd.family_name,
                        date_of_birth=cmd.date_of_birth, setting_organisation_id=setting, now=uow.now)
        # No date derived from the date of birth goes on the bus: any of them would give it away
        # (DESIGN §2). The setting and parents read them from GET /children/{id}.
        event_id = uow.emit(caller, child_id, ev.ChildRegistered(setting_organisation_id=setting, due_dates=()))
        # A child registered already nearing 24 months is announced at once, not at the next
        # pass of the review window task (services.referrals.review_window).
        if clock.review_window_announced(cmd.date_of_birth, uow.today):
            review_window.announce(uow, child_id, setting)
    return {"child_id": child_id, "event_id": event_id}


def raise_concern(deps: Deps, caller, child_id: UUID, cmd: c.RaiseConcern) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, child_id)
        allow(domain.require_setting, caller, child, "raise a concern")
        concern_id = uuid4()
        store.add_concern(uow.session, concern_id=concern_id, child_id=child_id, areas_of_need=[str(a) for a in cmd.areas_of_need],
                          summary=cmd.summary, evidence=cmd.evidence, raised_on=uow.today,
                          raised_by_organisation_id=caller.organisation_id)
        event_id = uow.emit(caller, child_id, ev.ConcernRaised(
            concern_id=concern_id, areas_of_need=tuple(cmd.areas_of_need), summary=cmd.summary, evidence=cmd.evidence))
    return {"concern_id": concern_id, "event_id": event_id}


# --- referrals ------------------------------------------------------------------------------


def make_referral(deps: Deps, caller, child_id: UUID, cmd: c.MakeReferral) -> dict:
    return catching_up(deps, lambda: _make_referral(deps, caller, child_id, cmd))


def _make_referral(deps: Deps, caller, child_id: UUID, cmd: c.MakeReferral) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, child_id)
        allow(domain.require_setting, caller, child, "make a referral")
        if cmd.to_organisation_id == caller.organisation_id:
            raise Invalid("to_organisation_id: an organisation does not refer a child to itself", field="to_organisation_id")
        require_agency(uow, caller, cmd.to_organisation_id, cmd.to_agency, "to_agency")
        # DESIGN §3: the referral itself is shared with the receiver, so at this moment an
        # active consent must name the receiver (or its agency) for the `referral` category.
        consent_id = require_consent(uow, child_id, cmd.to_organisation_id, cmd.to_agency, Category.REFERRAL)
        event_id = uuid4()
        referral_id = uuid4()
        store.add_referral(uow.session, referral_id=referral_id, child_id=child_id,
                           from_organisation_id=caller.organisation_id, from_agency=str(caller.agency),
                           to_organisation_id=cmd.to_organisation_id, to_agency=str(cmd.to_agency), reason=cmd.reason,
                           consent_id=consent_id, state=str(ReferralState.MADE), made_on=uow.today, updated_at=uow.now)
        uow.emit(caller, child_id, ev.ReferralMade(
            referral_id=referral_id, to_organisation_id=cmd.to_organisation_id, to_agency=cmd.to_agency,
            reason=cmd.reason, consent_id=consent_id), event_id=event_id)
    return {"referral_id": referral_id, "event_id": event_id, "consent_id": consent_id, "state": ReferralState.MADE}


def _load_referral(uow: UnitOfWork, referral_id: UUID) -> ReferralRecord:
    referral = store.get_referral(uow.session, referral_id)
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    return referral


def _move_referral(deps: Deps, caller, referral_id: UUID, action: ReferralAction, rule, payload, note: str | None) -> dict:
    with unit_of_work(deps) as uow:
        referral = _load_referral(uow, referral_id)
        allow(*rule(referral))
        new_state = advance(REFERRAL, referral.state, action)
        moved(store.move(uow.session, store.referrals, "referral_id", referral_id, expected_state=referral.state,
                         state=new_state, updated_at=uow.now, note=note), "the referral")
        event_id = uow.emit(caller, referral.child_id, payload)
    return {"referral_id": referral_id, "event_id": event_id, "state": new_state}


def accept_referral(deps: Deps, caller, referral_id: UUID) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.ACCEPT,
                          lambda r: (domain.require_receiver, caller, r, "accept"),
                          ev.ReferralAccepted(referral_id=referral_id), None)


def decline_referral(deps: Deps, caller, referral_id: UUID, cmd: c.DeclineReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.DECLINE,
                          lambda r: (domain.require_receiver, caller, r, "decline"),
                          ev.ReferralDeclined(referral_id=referral_id, reason=cmd.reason), cmd.reason)


def withdraw_referral(deps: Deps, caller, referral_id: UUID, cmd: c.WithdrawReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.WITHDRAW,
                          lambda r: (domain.require_referrer, caller, r),
                          ev.ReferralWithdrawn(referral_id=referral_id, reason=cmd.reason), cmd.reason)


def close_referral(deps: Deps, caller, referral_id: UUID, cmd: c.CloseReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.CLOSE,
                          lambda r: (domain.require_receiver, caller, r, "close"),
                          ev.ReferralClosed(referral_id=referral_id, outcome=cmd.outcome), cmd.outcome)


# --- team around the child --------------------------------------------------------------------


def join_team(deps: Deps, caller, child_id: UUID, cmd: c.JoinTeam) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, child_id)
        allow(domain.require_team_change, caller, child, cmd.organisation_id)
        if cmd.organisation_id == caller.organisation_id and cmd.agency != caller.agency:
            raise Invalid(f"agency: your organisation is a {caller.agency}, not a {cmd.agency}", field="agency")
        member = store.team_member(uow.session, child_id, cmd.organisation_id)
        if member is not None and member["left_at"] is None:
            raise Conflict(f"organisation {cmd.organisation_id} is already in the team around the child")
        store.join_team(uow.session, child_id=child_id, organisation_id=cmd.organisation_id, agency=str(cmd.agency),
                        role=cmd.role, now=uow.now)
        event_id = uow.emit(caller, child_id, ev.TeamMemberJoined(organisation_id=cmd.organisation_id, agency=cmd.agency, role=cmd.role))
    return {"child_id": child_id, "organisation_id": cmd.organisation_id, "event_id": event_id}


def leave_team(deps: Deps, caller, child_id: UUID, organisation_id: str, cmd: c.LeaveTeam) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, child_id)
        allow(domain.require_team_change, caller, child, organisation_id)
        member = store.team_member(uow.session, child_id, organisation_id)
        if member is None or member["left_at"] is not None:
            raise Conflict(f"organisation {organisation_id} is not in the team around the child")
        store.leave_team(uow.session, child_id=child_id, organisation_id=organisation_id, now=uow.now)
        event_id = uow.emit(caller, child_id, ev.TeamMemberLeft(organisation_id=organisation_id, reason=cmd.reason))
    return {"child_id": child_id, "organisation_id": organisation_id, "event_id": event_id}


# --- reports and family support ---------------------------------------------------------------


def share_slt_report(deps: Deps, caller, child_id: UUID, cmd: c.ShareSLTReport) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, child_id)
        allow(domain.require_involved_agency, caller, Agency.SLT_SERVICE, store.involved_organisations(uow.session, child_id),
              "share an SLT report")
        report_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.SLTReportShared(
            report_id=report_id, assessment_summary=cmd.assessment_summary, programme=cmd.programme,
            recommendations=tuple(cmd.recommendations)))
    return {"report_id": report_id, "event_id": event_id}


def share_ep_advice(deps: Deps, caller, child_id: UUID, cmd: c.ShareEPAdvice) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, child_id)
        allow(domain.require_involved_agency, caller, Agency.EP_SERVICE, store.involved_organisations(uow.session, child_id),
              "share EP advice")
        advice_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.EPAdviceShared(
            advice_id=advice_id, summary=cmd.summary, recommendations=tuple(cmd.recommendations)))
    return {"advice_id": advice_id, "event_id": event_id}


def offer_family_support(deps: Deps, caller, child_id: UUID, cmd: c.OfferFamilySupport) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, child_id)
        allow(domain.require_agency, caller, Agency.CHILDRENS_CENTRE, "offer family support")
        offer_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.FamilySupportOffered(offer_id=offer_id, summary=cmd.summary))
    return {"offer_id": offer_id, "event_id": event_id}
