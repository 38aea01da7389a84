"""Command handlers for children and concerns, the key person, reports and family support, and
a parent's "what we see at home" (the team itself: service_layer.team; referrals:
service_layer.referrals).

Each handler: load the child and check that the caller may know of it (service_layer.guards:
the setting, a team member, a parent of the child — anyone else gets the 404 of an unknown id),
check who may (domain.rules, 403), check the organisation a write names against the directory
and the consent it needs (service_layer.consent_checks, 422 / 409), check the transition
(domain.state_machine), write the state and its events in one transaction. Domain refusals
become services.common.errors (403 / 404 / 409 / 422) here, so routes stay thin. Reads live in
service_layer.children_reads, casework_reads and caseloads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

from schemas.events import referrals as ev
from schemas.vocabulary import Agency
from services.common.errors import Invalid
from services.referrals.domain import clock, commands as c, rules
from services.referrals.service_layer import review_window
from services.referrals.service_layer.consent_checks import require_named
from services.referrals.service_layer.guards import allow, load_child, not_in_future, within_early_years
from services.referrals.service_layer.unit_of_work import Deps, unit_of_work

# A setting registers children under five; allow a little over for late registrations
# (a child whose reception start was deferred) but refuse obvious typos.
MAX_AGE_AT_REGISTRATION = timedelta(days=7 * 366)


# --- children and concerns -------------------------------------------------------------------


def register_child(deps: Deps, caller, cmd: c.RegisterChild) -> dict:
    setting = cmd.setting_organisation_id or caller.organisation_id
    allow(rules.require_may_register, caller, setting)
    with unit_of_work(deps) as uow:
        require_named(uow, setting, Agency.SETTING, "setting_organisation_id")
        not_in_future(cmd.date_of_birth, uow.today, "date_of_birth")
        if uow.today - cmd.date_of_birth > MAX_AGE_AT_REGISTRATION:
            raise Invalid("date_of_birth: TAC is for children under five", field="date_of_birth")
        child_id = uuid4()
        uow.store.add_child(child_id=child_id, given_name=cmd.given_name, family_name=cmd.family_name,
                            date_of_birth=cmd.date_of_birth, setting_organisation_id=setting, now=uow.now)
        # No date derived from the date of birth goes on the bus: any of them would give it away
        # (DESIGN §2). The setting and parents read them from GET /children/{id}.
        event_id = uow.emit(caller, child_id, ev.ChildRegistered(setting_organisation_id=setting, due_dates=()))
        # A child registered already nearing 24 months is announced at once, not at the next
        # pass of the review window task (services.referrals.service_layer.review_window).
        if clock.review_window_announced(cmd.date_of_birth, uow.today):
            review_window.announce(uow, child_id, setting)
    return {"child_id": child_id, "event_id": event_id}


def raise_concern(deps: Deps, caller, child_id: UUID, cmd: c.RaiseConcern) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_setting, caller, child, "raise a concern")
        concern_id = uuid4()
        uow.store.add_concern(concern_id=concern_id, child_id=child_id, areas_of_need=[str(a) for a in cmd.areas_of_need],
                              summary=cmd.summary, evidence=cmd.evidence, raised_on=uow.today,
                              raised_by_organisation_id=caller.organisation_id)
        event_id = uow.emit(caller, child_id, ev.ConcernRaised(
            concern_id=concern_id, areas_of_need=tuple(cmd.areas_of_need), summary=cmd.summary, evidence=cmd.evidence))
    return {"concern_id": concern_id, "event_id": event_id}


# --- key person -------------------------------------------------------------------------------


def name_key_person(deps: Deps, caller, child_id: UUID, cmd: c.NameKeyPerson) -> dict:
    """EYFS statutory framework 3.27: the setting names the child's key person (and a buddy).
    The names stay in this store; KeyPersonNamed carries the practitioner ids only."""
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_setting, caller, child, "name the key person")
        if cmd.buddy_id is not None and cmd.buddy_id == cmd.key_person_id:
            raise Invalid("buddy_id: the buddy is someone other than the key person", field="buddy_id")
        uow.store.name_key_person(child_id, key_person_id=cmd.key_person_id, key_person_name=cmd.key_person_name,
                                  buddy_id=cmd.buddy_id, buddy_name=cmd.buddy_name)
        event_id = uow.emit(caller, child_id, ev.KeyPersonNamed(key_person_id=cmd.key_person_id, buddy_id=cmd.buddy_id))
    return {"child_id": child_id, "event_id": event_id,
            "key_person": {"id": cmd.key_person_id, "name": cmd.key_person_name},
            "buddy": {"id": cmd.buddy_id, "name": cmd.buddy_name} if cmd.buddy_id else None}


# --- reports and family support ---------------------------------------------------------------


def share_slt_report(deps: Deps, caller, child_id: UUID, cmd: c.ShareSLTReport) -> dict:
    report_id, event_id = _share_as_involved(deps, caller, child_id, Agency.SLT_SERVICE, "share an SLT report",
                                             lambda report_id: ev.SLTReportShared(
                                                 report_id=report_id, assessment_summary=cmd.assessment_summary,
                                                 programme=cmd.programme, recommendations=tuple(cmd.recommendations)))
    return {"report_id": report_id, "event_id": event_id}


def share_ep_advice(deps: Deps, caller, child_id: UUID, cmd: c.ShareEPAdvice) -> dict:
    advice_id, event_id = _share_as_involved(deps, caller, child_id, Agency.EP_SERVICE, "share EP advice",
                                             lambda advice_id: ev.EPAdviceShared(
                                                 advice_id=advice_id, summary=cmd.summary,
                                                 recommendations=tuple(cmd.recommendations)))
    return {"advice_id": advice_id, "event_id": event_id}


def _share_as_involved(deps: Deps, caller, child_id: UUID, agency: Agency, doing: str,
                       event: Callable[[UUID], ev.SLTReportShared | ev.EPAdviceShared]) -> tuple[UUID, UUID]:
    """A report or advice shared by an organisation of `agency` involved with the child: the
    event about it under a new id; returns that id and the event's."""
    with unit_of_work(deps) as uow:
        load_child(uow, caller, child_id)
        allow(rules.require_involved_agency, caller, agency, uow.store.involved_organisations(child_id, uow.now), doing)
        shared_id = uuid4()
        event_id = uow.emit(caller, child_id, event(shared_id))
    return shared_id, event_id


def offer_family_support(deps: Deps, caller, child_id: UUID, cmd: c.OfferFamilySupport) -> dict:
    with unit_of_work(deps) as uow:
        load_child(uow, caller, child_id)
        allow(rules.require_agency, caller, Agency.CHILDRENS_CENTRE, "offer family support")
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
        allow(rules.require_parent_of, caller, child, "share what they see at home: it is the parent's own entry")
        if cmd.seen_on is not None:
            within_early_years(not_in_future(cmd.seen_on, uow.today, "seen_on"), child, "seen_on")
        observation_id = uuid4()
        event_id = uow.emit(caller, child_id, ev.ParentObservationShared(
            observation_id=observation_id, text=cmd.text, seen_on=cmd.seen_on))
    return {"observation_id": observation_id, "event_id": event_id, "child_id": child_id, "seen_on": cmd.seen_on}
