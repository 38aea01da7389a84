"""Command handlers for children, concerns, referrals, the key person, reports and family
support, and a parent's "what we see at home" (the team itself: services.referrals.handlers_team).

Each handler: load the child and check that the caller may know of it (services.referrals.team:
the setting, a team member, a parent of the child — anyone else gets the 404 of an unknown id),
check who may (services.referrals.domain, 403), check the organisation a write names against the
directory and the consent it needs (services.referrals.consent_checks, 422 / 409), check the
transition (services.referrals.state_machine), write the state and its events in one
transaction. Accepting a referral also puts the receiver on the team (TeamMemberJoined,
joined_through=referral_accepted): two events, one transaction. Domain refusals become
services.common.errors (403 / 404 / 409 / 422) here, so routes stay thin. Reads live in
services.referrals.reads and services.referrals.queries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, Category, TeamJoinRoute
from services.common.directory import NationalCode, Organisation
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.referrals import access, clock, commands as c, domain, review_window, store, team
from services.referrals.consent_checks import catching_up, require_consent, require_named
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


def load_child(uow: UnitOfWork, caller, child_id: UUID, *, missing: NotFound | None = None,
               addressees: tuple[str, ...] = ()) -> ChildRecord:
    """The child, or the 404 of an unknown id when the caller may not know of it
    (services.referrals.team)."""
    return team.known_child(uow.session, caller, child_id, uow.now, missing=missing, addressees=addressees)


def within_early_years(value: date, child: ChildRecord, field: str) -> date:
    """A date of the child's casework lies between the child's birth and the 1 September after
    the fifth birthday (clock.casework_ends: compulsory school age, Education Act 1996 s.8)."""
    if value < child.date_of_birth:
        raise Invalid(f"{field} must not be before the child's date of birth", field=field)
    last = clock.casework_ends(child.date_of_birth)
    if value > last:
        raise Invalid(f"{field} must not be after {last}, the 1 September following the child's fifth birthday "
                      f"({clock.REF_CASEWORK_END})", field=field)
    return value


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
        require_named(uow, setting, Agency.SETTING, "setting_organisation_id")
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
        child = load_child(uow, caller, child_id)
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
        child = load_child(uow, caller, child_id)
        allow(domain.require_setting, caller, child, "make a referral")
        if cmd.to_organisation_id == caller.organisation_id:
            raise Invalid("to_organisation_id: an organisation does not refer a child to itself", field="to_organisation_id")
        receiver = require_named(uow, cmd.to_organisation_id, cmd.to_agency, "to_organisation_id", "to_agency")
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
    return {"referral_id": referral_id, "event_id": event_id, "consent_id": consent_id, "state": ReferralState.MADE,
            "to_organisation_id": receiver.id, "to_organisation_name": receiver.name}


def _load_referral(uow: UnitOfWork, caller, referral_id: UUID) -> ReferralRecord:
    """The referral, or the 404 of an unknown id when the caller may not know of its child; the
    receiver of a referral still waiting for its answer knows of it (it is addressed to it)."""
    missing = NotFound(f"no referral {referral_id}")
    referral = store.get_referral(uow.session, referral_id)
    if referral is None:
        raise missing
    waiting = (referral.to_organisation_id,) if referral.state == ReferralState.MADE else ()
    load_child(uow, caller, referral.child_id, missing=missing, addressees=waiting)
    return referral


def _move_referral(deps: Deps, caller, referral_id: UUID, action: ReferralAction, rule, payload, note: str | None,
                   then=None, answer: bool = False) -> dict:
    with unit_of_work(deps) as uow:
        referral = _load_referral(uow, caller, referral_id)
        allow(*rule(referral))
        if answer:
            _consent_still_covers_receiver(uow, referral)
        new_state = advance(REFERRAL, referral.state, action)
        moved(store.move(uow.session, store.referrals, "referral_id", referral_id, expected_state=referral.state,
                         state=new_state, updated_at=uow.now, note=note), "the referral")
        # Every answer names the organisation whose request it answers (DESIGN §3 rule 3).
        event_id = uow.emit(caller, referral.child_id, payload(referral.from_organisation_id))
        joined = then(uow, referral) if then else None
    out = {"referral_id": referral_id, "event_id": event_id, "state": new_state}
    if then:
        out["team_event_id"] = joined
    return out


def _consent_still_covers_receiver(uow: UnitOfWork, referral: ReferralRecord) -> None:
    """Answering a referral (accepting it, declining it) needs an active consent that still
    covers the receiver for `referral`: without one it may no longer read the referral (GET
    /referrals/{id} answers it the 404 of an unknown id), so an answer must not confirm it
    either — and accepting would put it on the team the family's consent no longer reaches."""
    state = store.consent_state_for(uow.session, referral.child_id)
    receiver = access.named(referral.to_organisation_id, referral.to_agency)
    if access.consent_covering(receiver, referral.child_id, Category.REFERRAL, uow.now, state) is None:
        raise NotFound(f"no referral {referral.referral_id}")


def _receiver_joins(caller):
    def join(uow: UnitOfWork, referral: ReferralRecord) -> UUID | None:
        # A referral can be declined, so its receiver joins the team when it accepts, in the
        # transaction of the acceptance (services/referrals/README.md).
        organisation = uow.deps.directory.get(referral.to_organisation_id)
        if organisation is None:  # a referral made before the directory: what it was made to
            organisation = Organisation(id=referral.to_organisation_id, name=referral.to_organisation_id,
                                        agency=Agency(referral.to_agency),
                                        national_code=NationalCode(scheme="urn", value="unknown"))
        child = store.get_child(uow.session, referral.child_id)
        return team.join(uow, caller, child, organisation, role=team.role_of(caller),
                         through=TeamJoinRoute.REFERRAL_ACCEPTED, request_id=referral.referral_id)
    return join


def accept_referral(deps: Deps, caller, referral_id: UUID) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.ACCEPT,
                          lambda r: (domain.require_receiver, caller, r, "accept"),
                          lambda by: ev.ReferralAccepted(referral_id=referral_id, requested_by_organisation_id=by), None,
                          then=_receiver_joins(caller), answer=True)


def decline_referral(deps: Deps, caller, referral_id: UUID, cmd: c.DeclineReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.DECLINE,
                          lambda r: (domain.require_receiver, caller, r, "decline"),
                          lambda by: ev.ReferralDeclined(referral_id=referral_id, requested_by_organisation_id=by,
                                                         reason=cmd.reason), cmd.reason, answer=True)


def withdraw_referral(deps: Deps, caller, referral_id: UUID, cmd: c.WithdrawReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.WITHDRAW,
                          lambda r: (domain.require_referrer, caller, r),
                          lambda by: ev.ReferralWithdrawn(referral_id=referral_id, requested_by_organisation_id=by,
                                                          reason=cmd.reason), cmd.reason)


def close_referral(deps: Deps, caller, referral_id: UUID, cmd: c.CloseReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.CLOSE,
                          lambda r: (domain.require_receiver, caller, r, "close"),
                          lambda by: ev.ReferralClosed(referral_id=referral_id, requested_by_organisation_id=by,
                                                       outcome=cmd.outcome), cmd.outcome)


# --- key person -------------------------------------------------------------------------------


def name_key_person(deps: Deps, caller, child_id: UUID, cmd: c.NameKeyPerson) -> dict:
    """EYFS statutory framework 3.27: the setting names the child's key person (and a buddy).
    The names stay in this store; KeyPersonNamed carries the practitioner ids only."""
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(domain.require_setting, caller, child, "name the key person")
        if cmd.buddy_id is not None and cmd.buddy_id == cmd.key_person_id:
            raise Invalid("buddy_id: the buddy is someone other than the key person", field="buddy_id")
        store.name_key_person(uow.session, child_id, key_person_id=cmd.key_person_id, key_person_name=cmd.key_person_name,
                              buddy_id=cmd.buddy_id, buddy_name=cmd.buddy_name)
        event_id = uow.emit(caller, child_id, ev.KeyPersonNamed(key_person_id=cmd.key_person_id, buddy_id=cmd.buddy_id))
    return {"child_id": child_id, "event_id": event_id,
            "key_person": {"id": cmd.key_person_id, "name": cmd.key_person_name},
            "buddy": {"id": cmd.buddy_id, "name": cmd.buddy_name} if cmd.buddy_id else None}


# --- reports and family support ---------------------------------------------------------------


def share_slt_report(deps: Deps, caller, child_id: UUID, cmd: c.ShareSLTReport) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, caller, child_id)
        allow(domain.require_involved_agency, caller, Agency.SLT_SERVICE, store.involved_organisations(uow.session, child_id, uow.now),
              "share an SLT report")
        report_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.SLTReportShared(
            report_id=report_id, assessment_summary=cmd.assessment_summary, programme=cmd.programme,
            recommendations=tuple(cmd.recommendations)))
    return {"report_id": report_id, "event_id": event_id}


def share_ep_advice(deps: Deps, caller, child_id: UUID, cmd: c.ShareEPAdvice) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, caller, child_id)
        allow(domain.require_involved_agency, caller, Agency.EP_SERVICE, store.involved_organisations(uow.session, child_id, uow.now),
              "share EP advice")
        advice_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.EPAdviceShared(
            advice_id=advice_id, summary=cmd.summary, recommendations=tuple(cmd.recommendations)))
    return {"advice_id": advice_id, "event_id": event_id}


def offer_family_support(deps: Deps, caller, child_id: UUID, cmd: c.OfferFamilySupport) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, caller, child_id)
        allow(domain.require_agency, caller, Agency.CHILDRENS_CENTRE, "offer family support")
        offer_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.FamilySupportOffered(offer_id=offer_id, summary=cmd.summary))
    return {"offer_id": offer_id, "event_id": event_id}


# --- a parent's own entries -------------------------------------------------------------------


def share_parent_observation(deps: Deps, caller, child_id: UUID, cmd: c.ShareParentObservation) -> dict:
    """"What we see at home" (EYFS statutory framework: a regular two-way flow of information
    with parents): the parent's own entry, authored by the parent (the actor has agency `parent`
    and no organisation), so practitioners see it only under the family's consent for
    `progress`. Nobody else writes it: a practitioner who knows the child gets 403, anyone
    else — a parent of another child too — the 404 of an unknown child."""
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(domain.require_parent_of, caller, child, "share what they see at home: it is the parent's own entry")
        if cmd.seen_on is not None:
            within_early_years(not_in_future(cmd.seen_on, uow.today, "seen_on"), child, "seen_on")
        observation_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.ParentObservationShared(
            observation_id=observation_id, text=cmd.text, seen_on=cmd.seen_on))
    return {"observation_id": observation_id, "event_id": event_id, "child_id": child_id, "seen_on": cmd.seen_on}
