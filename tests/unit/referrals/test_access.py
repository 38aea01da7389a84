"""What the referrals service shows to whom (services.referrals.domain.access): the consent decision
applied to its reads and to the writes that name another organisation. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from schemas.catalogue import make_envelope
from schemas.envelope import Actor
from schemas.events.consent import ConsentGiver, ConsentGranted, ConsentWithdrawn, Recipients, SafeguardingAccessGranted
from schemas.events.referrals import TeamMemberJoined, TeamMemberLeft
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute, TeamLeaveRoute
from services.common.directory import Directory, NationalCode, Organisation
from services.common.errors import Invalid
from consent_policy.state import ConsentState
from services.referrals.domain import access, clock
from services.referrals.domain.rules import ChildRecord

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)
CHILD = uuid4()
RECORDER = Actor(practitioner_id="senco-amy", organisation_id="sunflowers", agency=Agency.SETTING, role="senco")


@dataclass(frozen=True)
class Caller:
    organisation_id: str | None
    agency: Agency
    practitioner_id: str = "p1"
    children: frozenset[UUID] = field(default_factory=frozenset)


HV = Caller("hv-west", Agency.HEALTH_VISITING)
OTHER_HV = Caller("hv-east", Agency.HEALTH_VISITING)
SLT = Caller("slt-east", Agency.SLT_SERVICE)


def _grant(*, organisations=(), agencies=(), categories=(Category.HEALTH,), child=CHILD):
    consent_id = uuid4()
    return consent_id, make_envelope(ConsentGranted(
        consent_id=consent_id, given_by=ConsentGiver(person_id="kim", relationship="mother", has_parental_responsibility=True),
        recorded_on_behalf=True, recipients=Recipients(organisation_ids=tuple(organisations), agencies=tuple(agencies)),
        categories=tuple(categories), purposes=(Purpose.COORDINATION,), valid_from=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=300)), subject=child, actor=RECORDER, source="/tac/consent")


def _joined(organisation_id: str, agency: Agency, *, child=CHILD, at=NOW - timedelta(hours=1)):
    return make_envelope(TeamMemberJoined(organisation_id=organisation_id, agency=agency, role="member",
                                          joined_through=TeamJoinRoute.INVITATION),
                         subject=child, actor=RECORDER, source="/tac/referrals", time=at)


def _left(organisation_id: str, *, at=NOW - timedelta(minutes=1)):
    return make_envelope(TeamMemberLeft(organisation_id=organisation_id, ended_by=TeamLeaveRoute.REMOVED_BY_PARENT),
                         subject=CHILD, actor=RECORDER, source="/tac/referrals", time=at)


# The health visitors and the SLT are on the child's team unless a test says otherwise.
TEAM = (_joined("hv-west", Agency.HEALTH_VISITING), _joined("hv-east", Agency.HEALTH_VISITING),
        _joined("slt-east", Agency.SLT_SERVICE))


def _state(*envelopes, team=TEAM) -> ConsentState:
    return ConsentState.from_events((*team, *envelopes))


def test_an_organisation_sees_its_own_record_and_another_only_under_consent_for_that_category():
    hv = access.viewer_of(HV)
    assert access.may_see(hv, CHILD, "hv-west", Category.HEALTH, NOW, _state())  # own
    assert not access.may_see(hv, CHILD, "sunflowers", Category.HEALTH, NOW, _state())
    consent, granted = _grant(agencies=[Agency.HEALTH_VISITING])
    assert access.may_see(hv, CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted))
    assert not access.may_see(hv, CHILD, "sunflowers", Category.EHC, NOW, _state(granted))
    assert not access.may_see(hv, uuid4(), "sunflowers", Category.HEALTH, NOW, _state(granted))  # another child
    withdrawn = make_envelope(ConsentWithdrawn(consent_id=consent, withdrawn_at=NOW, recorded_on_behalf=False),
                              subject=CHILD, actor=RECORDER, source="/tac/consent")
    assert not access.may_see(hv, CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted, withdrawn))


def test_consent_reaches_an_organisation_only_while_it_is_on_the_childs_team():
    hv = access.viewer_of(HV)
    _, granted = _grant(agencies=[Agency.HEALTH_VISITING])
    assert not access.may_see(hv, CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted, team=()))
    assert access.may_see(hv, CHILD, "hv-west", Category.HEALTH, NOW, _state(granted, team=()))  # its own, always
    assert not access.may_see(hv, CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted, _left("hv-west")))


def test_a_request_waiting_for_its_answer_is_read_by_its_addressee_under_the_consent_that_named_it():
    slt = access.viewer_of(SLT)
    _, granted = _grant(organisations=["slt-east"], categories=[Category.REFERRAL])
    assert access.may_see_request(slt, CHILD, "sunflowers", Category.REFERRAL, NOW, _state(granted, team=()))
    assert not access.may_see(slt, CHILD, "sunflowers", Category.REFERRAL, NOW, _state(granted, team=()))
    assert not access.may_see_request(slt, CHILD, "sunflowers", Category.REFERRAL, NOW, _state(team=()))


def test_a_consent_naming_one_organisation_does_not_cover_another_of_the_same_agency():
    _, granted = _grant(organisations=["hv-west"])
    assert access.may_see(access.viewer_of(HV), CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted))
    assert not access.may_see(access.viewer_of(OTHER_HV), CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted))


def test_the_viewer_is_what_the_token_says_not_what_a_record_says():
    parent = access.viewer_of(Caller(None, Agency.PARENT, children=frozenset({CHILD})))
    assert parent.is_parent and access.may_see(parent, CHILD, "anyone", Category.EHC, NOW, _state())
    stranger = access.viewer_of(Caller(None, Agency.PARENT, children=frozenset({uuid4()})))
    assert not access.may_see(stranger, CHILD, "anyone", Category.EHC, NOW, _state())
    _, granted = _grant(agencies=[Agency.HEALTH_VISITING])
    # The SLT's token says slt_service: a consent for health visiting does not cover it.
    assert not access.may_see(access.viewer_of(SLT), CHILD, "sunflowers", Category.HEALTH, NOW, _state(granted))


def test_only_a_consent_lets_a_write_name_an_organisation_not_a_safeguarding_grant():
    grant = make_envelope(SafeguardingAccessGranted(
        grant_id=uuid4(), organisation_id="hv-west", justification="Concern for the child's immediate safety",
        granted_at=NOW - timedelta(hours=1), expires_at=NOW + timedelta(hours=23)),
        subject=CHILD, actor=RECORDER, source="/tac/consent")
    named = access.named("hv-west", Agency.HEALTH_VISITING)
    assert access.may_see(named, CHILD, "sunflowers", Category.HEALTH, NOW, _state(grant))  # break-glass reading
    assert access.consent_covering(named, CHILD, Category.HEALTH, NOW, _state(grant)) is None
    consent, granted = _grant(agencies=[Agency.HEALTH_VISITING])
    assert access.consent_covering(named, CHILD, Category.HEALTH, NOW, _state(grant, granted)) == consent
    # Being the author of something never counts as consent to be named.
    assert access.consent_covering(named, CHILD, Category.HEALTH, NOW, _state()) is None


def test_a_missing_consent_is_named_in_words_a_practitioner_can_act_on():
    assert access.missing_consent("la-sen", Agency.LA_SEN_TEAM, Category.EHC) == "no active consent covers la-sen/la_sen_team for ehc"


DIRECTORY = Directory.of(
    Organisation(id="la-sen", name="City SEN Team", agency=Agency.LA_SEN_TEAM, national_code=NationalCode(scheme="la_code", value="901")),
    Organisation(id="slt-east", name="East SLT", agency=Agency.SLT_SERVICE, national_code=NationalCode(scheme="ods", value="RX1")),
)


@pytest.mark.parametrize(("organisation_id", "agency", "field"), [
    ("la-sen", Agency.LA_SEN_TEAM, None),
    ("la-sen", None, None),  # the directory says what it is
    ("slt-east", Agency.LA_SEN_TEAM, "from_agency"),  # the directory says it is an SLT service
    ("nowhere", Agency.LA_SEN_TEAM, "from_organisation_id"),  # not in the directory
])
def test_an_organisation_is_named_only_as_what_the_directory_says_it_is(organisation_id, agency, field):
    def name():
        return access.named_organisation(DIRECTORY, organisation_id, agency, id_field="from_organisation_id",
                                         agency_field="from_agency")
    if field is None:
        assert name().id == organisation_id
        return
    with pytest.raises(Invalid) as refused:
        name()
    assert refused.value.field == field and field in str(refused.value)


def test_the_review_window_is_announced_from_23_months_until_school():
    born = date(2023, 7, 2)
    assert not clock.review_window_announced(born, date(2025, 6, 1))
    assert clock.review_window_announced(born, date(2025, 6, 2))  # 23 months today
    assert clock.review_window_announced(born, date(2027, 8, 31))
    assert not clock.review_window_announced(born, date(2027, 9, 1))  # reception from September 2027


def test_the_access_rules_are_pure():
    from pathlib import Path

    from tests.unit.test_architecture import infrastructure_imports

    assert infrastructure_imports(Path(access.__file__)) == []


# --- the security review of issue 10: one rule for personal details, the team list, rule 3 ----

CHILD_RECORD = ChildRecord(child_id=CHILD, setting_organisation_id="sunflowers", date_of_birth=date(2023, 3, 15))
SETTING = Caller("sunflowers", Agency.SETTING)
PARENT = Caller(None, Agency.PARENT, children=frozenset({CHILD}))
OTHER_PARENT = Caller(None, Agency.PARENT, children=frozenset({uuid4()}))


def test_personal_details_are_for_the_setting_a_parent_and_whoever_the_decision_shows_some_of_the_settings_entries():
    referral, granted = _grant(organisations=["slt-east"], categories=[Category.REFERRAL])
    _, health_only = _grant(agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH])
    state = _state(granted, health_only)
    assert access.may_see_details(SETTING, CHILD_RECORD, _state(), NOW)
    assert access.may_see_details(PARENT, CHILD_RECORD, _state(), NOW)
    assert not access.may_see_details(OTHER_PARENT, CHILD_RECORD, state, NOW)
    assert access.may_see_details(SLT, CHILD_RECORD, state, NOW)  # on the team, consent for `referral`
    assert access.may_see_details(HV, CHILD_RECORD, state, NOW)  # on the team, consent for `health`
    assert not access.may_see_details(HV, CHILD_RECORD, _state(granted), NOW)  # on the team, no consent names it
    assert not access.may_see_details(SLT, CHILD_RECORD, _state(granted, team=()), NOW)  # consent, not on the team
    withdrawn = make_envelope(ConsentWithdrawn(consent_id=referral, withdrawn_at=NOW, recorded_on_behalf=False),
                              subject=CHILD, actor=RECORDER, source="/tac/consent")
    assert not access.may_see_details(SLT, CHILD_RECORD, _state(granted, withdrawn), NOW)


def test_the_addressee_of_a_referral_waiting_for_its_answer_sees_the_details_under_the_consent_that_named_it():
    referral, granted = _grant(organisations=["slt-east"], categories=[Category.REFERRAL])
    off_team = _state(granted, team=())
    assert access.may_see_details(SLT, CHILD_RECORD, off_team, NOW, awaiting_answer=True)
    assert not access.may_see_details(SLT, CHILD_RECORD, off_team, NOW)  # nothing waiting for it
    withdrawn = make_envelope(ConsentWithdrawn(consent_id=referral, withdrawn_at=NOW, recorded_on_behalf=False),
                              subject=CHILD, actor=RECORDER, source="/tac/consent")
    assert not access.may_see_details(SLT, CHILD_RECORD, _state(granted, withdrawn, team=()), NOW, awaiting_answer=True)


def test_the_rest_of_the_team_is_shown_to_a_parent_and_whoever_may_see_the_settings_referral_entries():
    _, granted = _grant(organisations=["slt-east"], categories=[Category.REFERRAL])
    state = _state(granted)
    assert access.may_see_team(PARENT, CHILD_RECORD, state, NOW)
    assert access.may_see_team(SETTING, CHILD_RECORD, state, NOW)
    assert access.may_see_team(SLT, CHILD_RECORD, state, NOW)
    assert not access.may_see_team(HV, CHILD_RECORD, state, NOW)
    assert not access.may_see_team(OTHER_PARENT, CHILD_RECORD, state, NOW)


def test_an_answer_to_the_viewers_own_request_is_permitted_as_own_request():
    setting = access.viewer_of(SETTING)
    denied = access.decision(setting, CHILD, "slt-east", Category.REFERRAL, NOW, _state())
    assert not denied.permitted
    answer = access.decision(setting, CHILD, "slt-east", Category.REFERRAL, NOW, _state(), answers_request_of="sunflowers")
    assert answer.permitted and answer.basis == "own_request"
    assert not access.may_see(setting, CHILD, "slt-east", Category.REFERRAL, NOW, _state(), answers_request_of="acorns")


def test_an_invitation_is_visible_to_the_organisation_invited_only_while_a_consent_names_it():
    invitation = {"organisation_id": "slt-east", "agency": "slt_service"}
    consent, granted = _grant(organisations=["slt-east"], categories=[Category.REFERRAL])
    assert access.invitation_visible(invitation, CHILD_RECORD, _state(granted, team=()), NOW)
    _, health = _grant(organisations=["slt-east"], categories=[Category.HEALTH])
    assert access.invitation_visible(invitation, CHILD_RECORD, _state(health, team=()), NOW)  # any category
    _, other = _grant(organisations=["hv-west"], categories=[Category.REFERRAL])
    assert not access.invitation_visible(invitation, CHILD_RECORD, _state(other, team=()), NOW)
    withdrawn = make_envelope(ConsentWithdrawn(consent_id=consent, withdrawn_at=NOW, recorded_on_behalf=False),
                              subject=CHILD, actor=RECORDER, source="/tac/consent")
    assert not access.invitation_visible(invitation, CHILD_RECORD, _state(granted, withdrawn, team=()), NOW)
