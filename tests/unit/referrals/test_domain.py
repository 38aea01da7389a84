"""Who may do what (services.referrals.domain.rules), without a database or a web framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID, uuid4

import pytest

from schemas.vocabulary import Agency
from services.referrals.domain import rules as domain
from services.referrals.domain.rules import ChildRecord, NotPermitted, ReferralRecord

CHILD = ChildRecord(child_id=uuid4(), setting_organisation_id="sunflowers", date_of_birth=date(2023, 3, 1))
REFERRAL = ReferralRecord(referral_id=uuid4(), child_id=CHILD.child_id, from_organisation_id="sunflowers",
                          to_organisation_id="slt-east", to_agency="slt_service", state="made")


@dataclass(frozen=True)
class Caller:
    organisation_id: str | None
    agency: str
    practitioner_id: str = "p1"
    children: frozenset[UUID] = field(default_factory=frozenset)


SETTING = Caller("sunflowers", Agency.SETTING)
OTHER_SETTING = Caller("acorns", Agency.SETTING)
SLT = Caller("slt-east", Agency.SLT_SERVICE)
OTHER_SLT = Caller("slt-west", Agency.SLT_SERVICE)
PARENT = Caller(None, Agency.PARENT, children=frozenset({CHILD.child_id}))
STRANGER_PARENT = Caller(None, Agency.PARENT, children=frozenset({uuid4()}))
LA = Caller("la-sen", Agency.LA_SEN_TEAM)
HV = Caller("hv-west", Agency.HEALTH_VISITING)


def allowed(rule, *args) -> bool:
    try:
        rule(*args)
        return True
    except NotPermitted:
        return False


def test_only_a_setting_registers_a_child_and_only_for_itself():
    assert allowed(domain.require_may_register, SETTING, "sunflowers")
    assert not allowed(domain.require_may_register, SETTING, "acorns")
    assert not allowed(domain.require_may_register, SLT, "slt-east")
    assert not allowed(domain.require_may_register, PARENT, None)


def test_setting_actions_belong_to_the_childs_own_setting():
    assert allowed(domain.require_setting, SETTING, CHILD, "raise a concern")
    for caller in (OTHER_SETTING, SLT, PARENT, LA):
        assert not allowed(domain.require_setting, caller, CHILD, "raise a concern")


def test_the_receiver_accepts_and_closes_and_the_referrer_withdraws():
    assert allowed(domain.require_receiver, SLT, REFERRAL, "accept")
    assert not allowed(domain.require_receiver, OTHER_SLT, REFERRAL, "accept")
    assert not allowed(domain.require_receiver, SETTING, REFERRAL, "accept")
    # Right organisation id but claiming another agency: refused.
    assert not allowed(domain.require_receiver, Caller("slt-east", Agency.EP_SERVICE), REFERRAL, "accept")
    assert allowed(domain.require_referrer, SETTING, REFERRAL)
    assert not allowed(domain.require_referrer, SLT, REFERRAL)
    assert allowed(domain.require_may_read_referral, SLT, REFERRAL)
    assert not allowed(domain.require_may_read_referral, OTHER_SLT, REFERRAL)
    # The receiving organisation reads it as the agency it was referred to as, not as another.
    assert not allowed(domain.require_may_read_referral, Caller("slt-east", Agency.EP_SERVICE), REFERRAL)


def test_nobody_adds_itself_a_parent_adds_and_the_parent_or_the_setting_removes():
    assert allowed(domain.require_parent_of, PARENT, CHILD, "add an organisation")
    for caller in (SETTING, SLT, STRANGER_PARENT):
        assert not allowed(domain.require_parent_of, caller, CHILD, "add an organisation")
    assert domain.require_remover(PARENT, CHILD) == "removed_by_parent"
    assert domain.require_remover(SETTING, CHILD) == "removed_by_setting"
    for caller in (SLT, OTHER_SETTING, STRANGER_PARENT):
        assert not allowed(domain.require_remover, caller, CHILD)


def test_an_organisation_leaves_by_itself_and_only_the_invited_answers_an_invitation():
    assert allowed(domain.require_leaver, SLT, "slt-east")
    assert not allowed(domain.require_leaver, SETTING, "slt-east")
    assert not allowed(domain.require_leaver, OTHER_SLT, "slt-east")
    assert allowed(domain.require_invitee, SLT, "slt-east", "slt_service")
    assert not allowed(domain.require_invitee, OTHER_SLT, "slt-east", "slt_service")
    assert not allowed(domain.require_invitee, Caller("slt-east", Agency.EP_SERVICE), "slt-east", "slt_service")


def test_reports_come_from_involved_organisations_of_the_right_agency():
    assert allowed(domain.require_involved_agency, SLT, Agency.SLT_SERVICE, {"slt-east"}, "share")
    assert not allowed(domain.require_involved_agency, SLT, Agency.SLT_SERVICE, {"slt-west"}, "share")
    assert not allowed(domain.require_involved_agency, SLT, Agency.EP_SERVICE, {"slt-east"}, "share")


def test_a_parent_acts_only_for_their_own_child():
    assert domain.require_ehc_requester(PARENT, CHILD) == "parent"
    assert domain.require_ehc_requester(SETTING, CHILD) == "setting"
    assert not allowed(domain.require_ehc_requester, STRANGER_PARENT, CHILD)
    assert not allowed(domain.require_ehc_requester, SLT, CHILD)
    assert allowed(domain.require_may_read_child, PARENT, CHILD)
    assert not allowed(domain.require_may_read_child, STRANGER_PARENT, CHILD)
    # A parent claiming an organisation id is still not that organisation's practitioner.
    assert not allowed(domain.require_setting, Caller("sunflowers", Agency.PARENT), CHILD, "raise a concern")


def test_only_the_la_the_request_was_made_to_runs_the_assessment():
    assert allowed(domain.require_la, LA, "la-sen", "start")
    assert not allowed(domain.require_la, Caller("la-other", Agency.LA_SEN_TEAM), "la-sen", "start")
    assert not allowed(domain.require_la, Caller("la-sen", Agency.AREA_SENCO), "la-sen", "start")


def test_integrated_reviews_are_for_health_visitors_and_the_setting():
    assert allowed(domain.require_review_scheduler, HV, CHILD)
    assert allowed(domain.require_review_scheduler, SETTING, CHILD)
    assert not allowed(domain.require_review_scheduler, SLT, CHILD)
    assert allowed(domain.require_review_completer, HV, CHILD, "hv-west", None)
    assert allowed(domain.require_review_completer, SETTING, CHILD, "hv-west", None)
    assert not allowed(domain.require_review_completer, Caller("hv-east", Agency.HEALTH_VISITING), CHILD, "hv-west", None)


@pytest.mark.parametrize(("caller", "ok"), [(Caller("hub", Agency.CHILDRENS_CENTRE), True), (SETTING, False), (PARENT, False)])
def test_family_support_is_offered_by_childrens_centres(caller, ok):
    assert allowed(domain.require_agency, caller, Agency.CHILDRENS_CENTRE, "offer family support") is ok


def test_transition_is_completed_by_the_setting_or_the_receiving_school():
    assert allowed(domain.require_transition_completer, Caller("oak", Agency.SCHOOL), CHILD, "oak")
    assert allowed(domain.require_transition_completer, SETTING, CHILD, "oak")
    assert not allowed(domain.require_transition_completer, Caller("elm", Agency.SCHOOL), CHILD, "oak")
