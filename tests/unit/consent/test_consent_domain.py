"""The consent service's command rules: who may record, withdraw and list, status now, when
expiry and reminders are due, and safeguarding break-glass."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events.consent import ConsentExpired, ConsentExpiryReminderDue
from schemas.vocabulary import DSL_ROLE, Agency, Category, Purpose
from services.common.auth import Principal
from services.common.directory import Directory, NationalCode, Organisation
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.consent import domain
from services.consent.domain import (
    ConsentStatus, GrantConsent, GrantSafeguardingAccess, Notice, Relationship, WithdrawConsent,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
CHILD = UUID("00000000-0000-4000-8000-000000000001")
OTHER_CHILD = UUID("00000000-0000-4000-8000-000000000002")
SETTING = "nursery-1"
# The child's setting, with the SLT service on the team (it accepted a referral).
AT_SETTING = Relationship(SETTING, frozenset({SETTING, "nhs-slt-1"}))
UNREGISTERED = Relationship(None)

SENCO = Principal(practitioner_id="senco-1", organisation_id=SETTING, agency=Agency.SETTING, role="senco")
OTHER_NURSERY = Principal(practitioner_id="senco-9", organisation_id="nursery-9", agency=Agency.SETTING, role="senco")
SLT = Principal(practitioner_id="slt-1", organisation_id="nhs-slt-1", agency=Agency.SLT_SERVICE, role="therapist")
SLT_DSL = Principal(practitioner_id="slt-dsl", organisation_id="nhs-slt-1", agency=Agency.SLT_SERVICE, role=DSL_ROLE)
STRANGER_DSL = Principal(practitioner_id="dsl-9", organisation_id="nursery-9", agency=Agency.SETTING, role=DSL_ROLE)
EP = Principal(practitioner_id="ep-1", organisation_id="ep-1", agency=Agency.EP_SERVICE, role="psychologist")
DIRECTORY = Directory.of(*(
    Organisation(id=org, name=name, agency=agency, national_code=NationalCode(scheme="urn", value="1"))
    for org, name, agency in [(SETTING, "Nursery One", Agency.SETTING),
                              ("nhs-slt-1", "SLT One", Agency.SLT_SERVICE)]))
PARENT = Principal(practitioner_id="parent-1", agency=Agency.PARENT, role="parent", children=frozenset({CHILD}))
PARENT_OF_OTHER = Principal(practitioner_id="parent-2", agency=Agency.PARENT, role="parent",
                            children=frozenset({OTHER_CHILD}))


def command(**changes) -> GrantConsent:
    base = GrantConsent(
        given_by_name="Amina Khan", relationship="mother", has_parental_responsibility=True,
        recipient_organisations=["nhs-slt-1"], recipient_agencies=[Agency.AREA_SENCO],
        categories=[Category.CONCERN, Category.SLT], purposes=[Purpose.REFERRAL],
    )
    return replace(base, **changes)


def grant(caller=SENCO, setting: Relationship = AT_SETTING, now: datetime = NOW, **changes):
    return domain.grant_consent(caller, CHILD, setting, command(**changes), consent_id=uuid4(), now=now,
                                directory=DIRECTORY)


def invalid_field(call) -> str | None:
    with pytest.raises(Invalid) as caught:
        call()
    return caught.value.field


# -- who may record -------------------------------------------------------------------------


def test_a_practitioner_of_the_childs_setting_records_consent_on_the_parents_behalf():
    consent, event = grant()
    assert consent.recorded_on_behalf and event.recorded_on_behalf
    assert consent.recorded_by.organisation_id == SETTING
    assert event.given_by.person_id == consent.given_by.person_id
    assert consent.given_by.name == "Amina Khan"


def test_the_givers_name_never_goes_into_the_event():
    _, event = grant()
    assert "Amina" not in event.model_dump_json()


def test_a_parent_records_their_own_consent_under_their_own_id():
    consent, event = grant(caller=PARENT)
    assert not event.recorded_on_behalf
    assert event.given_by.person_id == "parent-1"


def test_a_parent_may_record_consent_before_the_child_is_registered():
    consent, _ = grant(caller=PARENT, setting=UNREGISTERED)
    assert consent.child_id == CHILD


def test_a_parent_cannot_record_consent_as_someone_else():
    assert invalid_field(lambda: grant(caller=PARENT, person_id="parent-7")) == "given_by.person_id"


def test_the_parent_of_another_child_may_not_record_consent():
    with pytest.raises(Forbidden):
        grant(caller=PARENT_OF_OTHER)


def test_to_a_practitioner_of_another_setting_the_child_does_not_exist():
    with pytest.raises(NotFound) as stranger:
        grant(caller=OTHER_NURSERY)
    with pytest.raises(NotFound) as unknown:
        grant(caller=OTHER_NURSERY, setting=UNREGISTERED)
    assert stranger.value.detail == unknown.value.detail


def test_an_organisation_of_the_agency_named_but_not_on_the_team_may_not_record_consent():
    with pytest.raises(NotFound):
        grant(caller=EP, recipient_agencies=[Agency.EP_SERVICE])


def test_a_team_member_may_not_record_a_parents_consent_and_is_told_who_may():
    # The SLT service is on the team; were it able to record "the parent's consent" naming
    # itself, it could open the whole record to itself (DESIGN §3: the parent, or the setting
    # on their behalf).
    with pytest.raises(Forbidden, match="child's setting on the parent's behalf") as refused:
        grant(caller=SLT, recipient_organisations=["nhs-slt-1"], recipient_agencies=[])
    assert "record consent" in refused.value.detail


@pytest.mark.parametrize("role", ["therapist", DSL_ROLE, "manager"])
def test_no_role_of_a_team_organisation_may_record_consent(role):
    with pytest.raises(Forbidden):
        grant(caller=SLT.model_copy(update={"role": role}))


def test_a_team_member_who_has_left_may_not_record_consent():
    with pytest.raises(NotFound):
        grant(caller=SLT, setting=Relationship(SETTING, frozenset({SETTING})))


def test_the_former_setting_of_a_child_who_moved_is_no_longer_the_one_to_record_consent():
    # The child moved to nursery-2; the old setting's departure from the team has not arrived.
    moved = Relationship("nursery-2", frozenset({SETTING, "nursery-2"}))
    with pytest.raises(Forbidden):
        grant(caller=SENCO, setting=moved)


def test_a_practitioner_cannot_record_consent_for_a_child_the_service_does_not_know():
    with pytest.raises(NotFound):
        grant(setting=UNREGISTERED)


def test_a_recipient_organisation_must_be_in_the_directory():
    assert invalid_field(lambda: grant(recipient_organisations=["nhs-slt-1", "no-such-org"])) \
        == "recipients.organisation_ids"


def test_a_consent_lasts_at_most_24_months():
    consent, _ = grant(expires_at=domain.add_months(NOW, 24))
    assert consent.expires_at == datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert invalid_field(lambda: grant(expires_at=domain.add_months(NOW, 24) + timedelta(seconds=1))) == "expires_at"
    assert invalid_field(lambda: grant(expires_at=datetime(9999, 12, 31, tzinfo=timezone.utc))) == "expires_at"


def test_the_maximum_is_counted_from_valid_from_and_is_configurable():
    start = NOW + timedelta(days=30)
    consent, _ = grant(valid_from=start, expires_at=domain.add_months(start, 24))
    assert consent.valid_from == start
    assert invalid_field(lambda: domain.grant_consent(
        SENCO, CHILD, AT_SETTING, command(expires_at=domain.add_months(NOW, 7)), consent_id=uuid4(), now=NOW,
        max_months=6)) == "expires_at"


def test_consent_needs_a_giver_with_parental_responsibility():
    assert invalid_field(lambda: grant(has_parental_responsibility=False)) == "given_by.has_parental_responsibility"


def test_a_blank_name_is_refused():
    assert invalid_field(lambda: grant(given_by_name="   ")) == "given_by.name"


# -- what a consent names -------------------------------------------------------------------


def test_a_consent_without_recipients_is_refused():
    assert invalid_field(lambda: grant(recipient_organisations=[], recipient_agencies=[])) == "recipients"


def test_a_consent_may_name_only_an_agency_or_only_an_organisation():
    assert grant(recipient_organisations=[])[1].recipients.agencies == (Agency.AREA_SENCO,)
    assert grant(recipient_agencies=[])[1].recipients.organisation_ids == ("nhs-slt-1",)


def test_parent_is_not_a_recipient_agency():
    assert invalid_field(lambda: grant(recipient_agencies=[Agency.PARENT])) == "recipients.agencies"


def test_an_unknown_category_agency_or_purpose_is_refused_naming_the_field():
    assert invalid_field(lambda: grant(categories=["medical"])) == "categories"
    assert invalid_field(lambda: grant(recipient_agencies=["police"])) == "recipients.agencies"
    assert invalid_field(lambda: grant(purposes=["marketing"])) == "purposes"


def test_duplicates_in_a_consent_are_kept_once():
    consent, _ = grant(categories=[Category.SLT, Category.SLT], recipient_organisations=["nhs-slt-1", "nhs-slt-1"])
    assert consent.categories == (Category.SLT,) and consent.recipient_organisations == ("nhs-slt-1",)


# -- the period -----------------------------------------------------------------------------


def test_a_consent_starts_now_and_lasts_twelve_months_by_default():
    consent, _ = grant()
    assert (consent.valid_from, consent.expires_at) == (NOW, datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc))


def test_a_consent_starting_on_a_leap_day_ends_on_the_last_day_of_february():
    start = datetime(2028, 2, 29, 9, 0, tzinfo=timezone.utc)
    consent, _ = grant(valid_from=start)
    assert consent.expires_at == datetime(2029, 2, 28, 9, 0, tzinfo=timezone.utc)


def test_expires_at_must_be_after_valid_from():
    assert invalid_field(lambda: grant(valid_from=NOW, expires_at=NOW)) == "expires_at"
    assert invalid_field(lambda: grant(valid_from=NOW, expires_at=NOW - timedelta(days=1))) == "expires_at"


def test_a_consent_that_would_already_have_expired_is_refused():
    assert invalid_field(lambda: grant(valid_from=NOW - timedelta(days=10), expires_at=NOW)) == "expires_at"


def test_times_without_an_offset_are_refused():
    assert invalid_field(lambda: grant(valid_from=datetime(2025, 3, 1, 12, 0))) == "valid_from"


def test_a_start_so_late_that_the_default_end_cannot_be_computed_is_refused():
    assert invalid_field(lambda: grant(valid_from=datetime(9999, 6, 1, tzinfo=timezone.utc))) == "valid_from"


def test_times_are_kept_in_utc():
    consent, _ = grant(valid_from=datetime(2025, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=1))))
    assert consent.valid_from == datetime(2025, 6, 1, 8, 0, tzinfo=timezone.utc)
    assert consent.valid_from.utcoffset() == timedelta(0)


# -- status now -----------------------------------------------------------------------------


def test_status_follows_the_half_open_period():
    consent, _ = grant(valid_from=NOW + timedelta(days=1), expires_at=NOW + timedelta(days=2))
    assert consent.status(NOW) is ConsentStatus.NOT_YET_STARTED
    assert consent.status(NOW + timedelta(days=1)) is ConsentStatus.ACTIVE
    assert consent.status(NOW + timedelta(days=2) - timedelta(microseconds=1)) is ConsentStatus.ACTIVE
    assert consent.status(NOW + timedelta(days=2)) is ConsentStatus.EXPIRED


def test_a_withdrawn_consent_is_withdrawn_even_after_its_end_date():
    consent, _ = grant(caller=PARENT)
    withdrawn, _ = domain.withdraw_consent(PARENT, consent, AT_SETTING, WithdrawConsent(), now=NOW)
    assert withdrawn.status(NOW) is ConsentStatus.WITHDRAWN
    assert withdrawn.status(NOW + timedelta(days=800)) is ConsentStatus.WITHDRAWN


# -- withdrawing ----------------------------------------------------------------------------


def test_a_parents_withdrawal_takes_effect_now():
    consent, _ = grant()
    withdrawn, event = domain.withdraw_consent(PARENT, consent, AT_SETTING, WithdrawConsent(), now=NOW)
    assert (event.withdrawn_at, event.recorded_on_behalf) == (NOW, False)
    assert withdrawn.withdrawal.recorded_by.practitioner_id == "parent-1"


def test_a_team_member_may_not_withdraw_the_familys_consent():
    consent, _ = grant()
    with pytest.raises(Forbidden, match="child's setting on the parent's behalf"):
        domain.withdraw_consent(SLT, consent, AT_SETTING, WithdrawConsent(parent_withdrew_on=date(2025, 3, 1)),
                                now=NOW)


def test_a_setting_practitioner_records_a_withdrawal_with_the_date_the_parent_withdrew():
    consent, _ = grant(now=NOW - timedelta(days=10))
    withdrawn, event = domain.withdraw_consent(
        SENCO, consent, AT_SETTING, WithdrawConsent(parent_withdrew_on=date(2025, 2, 27)), now=NOW)
    assert event.recorded_on_behalf
    assert event.withdrawn_at == datetime(2025, 2, 27, 0, 0, tzinfo=timezone.utc)  # midnight in England (GMT)
    assert withdrawn.withdrawal.recorded_at == NOW


def test_a_practitioner_must_give_the_date_the_parent_withdrew():
    consent, _ = grant()
    assert invalid_field(lambda: domain.withdraw_consent(SENCO, consent, AT_SETTING, WithdrawConsent(), now=NOW)) \
        == "parent_withdrew_on"


def test_the_date_the_parent_withdrew_cannot_be_in_the_future():
    consent, _ = grant()
    tomorrow = WithdrawConsent(parent_withdrew_on=date(2025, 3, 2))
    assert invalid_field(lambda: domain.withdraw_consent(SENCO, consent, AT_SETTING, tomorrow, now=NOW)) \
        == "parent_withdrew_on"


def test_today_in_england_counts_as_today_even_when_utc_is_still_yesterday():
    summer_night = datetime(2025, 6, 1, 23, 30, tzinfo=timezone.utc)  # 00:30 on 2 June in London
    consent, _ = grant(now=summer_night - timedelta(hours=1))
    _, event = domain.withdraw_consent(
        SENCO, consent, AT_SETTING, WithdrawConsent(parent_withdrew_on=date(2025, 6, 2)), now=summer_night)
    assert event.withdrawn_at <= summer_night


def test_the_date_the_parent_withdrew_cannot_be_before_the_consent_was_recorded():
    consent, _ = grant()
    too_early = WithdrawConsent(parent_withdrew_on=date(2025, 2, 1))
    assert invalid_field(lambda: domain.withdraw_consent(SENCO, consent, AT_SETTING, too_early, now=NOW)) \
        == "parent_withdrew_on"


def test_a_parent_does_not_backdate_their_own_withdrawal():
    consent, _ = grant()
    dated = WithdrawConsent(parent_withdrew_on=date(2025, 3, 1))
    assert invalid_field(lambda: domain.withdraw_consent(PARENT, consent, AT_SETTING, dated, now=NOW)) \
        == "parent_withdrew_on"


@pytest.mark.parametrize("caller", [EP, OTHER_NURSERY, PARENT_OF_OTHER, SLT],
                         ids=["ep", "other-setting", "other-parent", "team-member"])
def test_nobody_but_the_parent_or_the_setting_may_withdraw(caller):
    consent, _ = grant()
    # A parent of another child and a team member are refused; to a practitioner off the team
    # the child does not exist.
    with pytest.raises(Forbidden if caller in (PARENT_OF_OTHER, SLT) else NotFound):
        domain.withdraw_consent(caller, consent, AT_SETTING, WithdrawConsent(parent_withdrew_on=date(2025, 3, 1)), now=NOW)


ORGANISATIONS = [SETTING, "nursery-2", "nursery-9", "nhs-slt-1", "ep-1"]


@settings(max_examples=300, deadline=None)
@given(setting=st.sampled_from(ORGANISATIONS + [None]), team=st.frozensets(st.sampled_from(ORGANISATIONS)),
       caller_org=st.sampled_from(ORGANISATIONS), agency=st.sampled_from([a for a in Agency if a is not Agency.PARENT]),
       role=st.sampled_from(["senco", "therapist", DSL_ROLE]))
def test_whatever_the_copy_of_the_team_holds_only_the_setting_writes_consent(setting, team, caller_org, agency, role):
    """The team is a copy folded from events consumed asynchronously: it may still hold an
    organisation the referrals service removed, or a former setting. Whatever it holds, a
    practitioner whose organisation is not the child's setting never records or withdraws a
    consent; the team decides only between 404 (strangers) and 403 (team members)."""
    child = Relationship(setting, team)
    caller = Principal(practitioner_id="p-1", organisation_id=caller_org, agency=agency, role=role)
    consent, _ = grant()
    withdrawal = WithdrawConsent(parent_withdrew_on=date(2025, 3, 1))
    for attempt in (lambda: grant(caller=caller, setting=child),
                    lambda: domain.withdraw_consent(caller, consent, child, withdrawal, now=NOW)):
        if setting is not None and caller_org == setting:
            attempt()  # the setting, on the parent's behalf
            continue
        with pytest.raises((Forbidden, NotFound)) as refused:
            attempt()
        on_team = setting is not None and caller_org in team
        assert isinstance(refused.value, Forbidden if on_team else NotFound)


def test_withdrawing_twice_is_a_conflict():
    consent, _ = grant()
    withdrawn, _ = domain.withdraw_consent(PARENT, consent, AT_SETTING, WithdrawConsent(), now=NOW)
    with pytest.raises(Conflict):
        domain.withdraw_consent(PARENT, withdrawn, AT_SETTING, WithdrawConsent(), now=NOW)


def test_an_expired_consent_cannot_be_withdrawn():
    consent, _ = grant(expires_at=NOW + timedelta(days=1))
    with pytest.raises(Conflict):
        domain.withdraw_consent(PARENT, consent, AT_SETTING, WithdrawConsent(), now=NOW + timedelta(days=1))


def test_a_consent_that_has_not_started_can_be_withdrawn():
    consent, _ = grant(valid_from=NOW + timedelta(days=5))
    withdrawn, _ = domain.withdraw_consent(PARENT, consent, AT_SETTING, WithdrawConsent(), now=NOW)
    assert withdrawn.status(NOW + timedelta(days=6)) is ConsentStatus.WITHDRAWN


# -- expiry and reminders -------------------------------------------------------------------


def test_the_reminder_falls_due_exactly_thirty_days_before_expiry():
    consent, _ = grant(expires_at=NOW + timedelta(days=40))
    reminder_at = consent.expires_at - timedelta(days=30)
    assert consent.due_notices(reminder_at - timedelta(microseconds=1)) == []
    assert consent.due_notices(reminder_at) == [Notice.EXPIRY_REMINDER]


def test_expiry_falls_due_exactly_at_expires_at_and_then_replaces_the_reminder():
    consent, _ = grant(expires_at=NOW + timedelta(days=40))
    assert consent.due_notices(consent.expires_at - timedelta(microseconds=1)) == [Notice.EXPIRY_REMINDER]
    assert consent.due_notices(consent.expires_at) == [Notice.EXPIRED]


def test_nothing_is_due_twice():
    consent, _ = grant(expires_at=NOW + timedelta(days=40))
    reminded = replace(consent, notices=frozenset({Notice.EXPIRY_REMINDER}))
    assert reminded.due_notices(consent.expires_at - timedelta(days=1)) == []
    done = replace(consent, notices=frozenset(Notice))
    assert done.due_notices(consent.expires_at + timedelta(days=1)) == []


def test_a_withdrawn_consent_neither_expires_nor_is_reminded():
    consent, _ = grant(expires_at=NOW + timedelta(days=10))
    withdrawn, _ = domain.withdraw_consent(PARENT, consent, AT_SETTING, WithdrawConsent(), now=NOW)
    assert withdrawn.due_notices(NOW + timedelta(days=5)) == []
    assert withdrawn.due_notices(NOW + timedelta(days=50)) == []


def test_the_notice_events_carry_the_consent_and_its_end():
    consent, _ = grant()
    assert consent.notice_event(Notice.EXPIRED) == ConsentExpired(consent_id=consent.consent_id,
                                                                  expired_at=consent.expires_at)
    assert consent.notice_event(Notice.EXPIRY_REMINDER) == ConsentExpiryReminderDue(
        consent_id=consent.consent_id, expires_at=consent.expires_at)


def test_expiry_is_attributed_to_the_service_for_the_organisation_that_recorded_the_consent():
    consent, _ = grant()
    actor = consent.system_actor()
    assert (actor.practitioner_id, actor.role, actor.organisation_id) == ("tac-consent-service", "system", SETTING)
    parents, _ = grant(caller=PARENT)
    assert parents.system_actor().organisation_id is None


# -- safeguarding ---------------------------------------------------------------------------

REASON = "Disclosure by the child at nursery this morning; strategy discussion requested."


def safeguarding(caller=SLT_DSL, setting: Relationship = AT_SETTING, **changes):
    cmd = replace(GrantSafeguardingAccess(justification=REASON), **changes)
    return domain.grant_safeguarding_access(caller, CHILD, setting, cmd, grant_id=uuid4(), now=NOW)


def test_safeguarding_access_is_for_the_callers_own_organisation_for_72_hours_and_tells_the_dsl():
    access, event = safeguarding()
    assert event.organisation_id == "nhs-slt-1"
    assert event.expires_at - event.granted_at == timedelta(hours=72)
    assert event.notify_role == "designated_safeguarding_lead"
    assert access.is_active(NOW) and not access.is_active(NOW + timedelta(hours=72))


def test_safeguarding_access_may_be_shorter_but_never_longer_than_72_hours():
    assert safeguarding(hours=1.5)[1].expires_at == NOW + timedelta(hours=1.5)
    assert invalid_field(lambda: safeguarding(hours=72.01)) == "hours"
    assert invalid_field(lambda: safeguarding(hours=0)) == "hours"


def test_safeguarding_access_needs_a_written_justification():
    assert invalid_field(lambda: safeguarding(justification="")) == "justification"
    assert invalid_field(lambda: safeguarding(justification="   worried          ")) == "justification"


def test_a_parent_cannot_grant_safeguarding_access():
    with pytest.raises(Forbidden):
        safeguarding(caller=PARENT)


@pytest.mark.parametrize("role", ["therapist", "senco", "manager", "designated_safeguarding_lead_deputy"])
def test_only_a_designated_safeguarding_lead_may_grant_safeguarding_access(role):
    with pytest.raises(Forbidden, match="ask your designated safeguarding lead"):
        safeguarding(caller=SLT.model_copy(update={"role": role}))


def test_the_refusal_of_a_practitioner_who_is_not_a_dsl_is_the_same_whether_or_not_the_child_exists():
    with pytest.raises(Forbidden) as known:
        safeguarding(caller=OTHER_NURSERY)
    with pytest.raises(Forbidden) as unknown:
        safeguarding(caller=OTHER_NURSERY, setting=UNREGISTERED)
    assert known.value.detail == unknown.value.detail


def test_to_the_dsl_of_an_organisation_off_the_team_the_child_does_not_exist():
    with pytest.raises(NotFound) as stranger:
        safeguarding(caller=STRANGER_DSL)
    with pytest.raises(NotFound) as unknown:
        safeguarding(caller=STRANGER_DSL, setting=UNREGISTERED)
    assert stranger.value.detail == unknown.value.detail


def test_safeguarding_access_needs_a_child_the_service_knows():
    with pytest.raises(NotFound):
        safeguarding(setting=UNREGISTERED)


def test_parents_are_not_listed_safeguarding_grants():
    with pytest.raises(Forbidden):
        domain.require_may_list_safeguarding(PARENT, CHILD, AT_SETTING)
    domain.require_may_list_safeguarding(SLT, CHILD, AT_SETTING)
    with pytest.raises(NotFound):
        domain.require_may_list_safeguarding(OTHER_NURSERY, CHILD, AT_SETTING)


SETTING_DSL = Principal(practitioner_id="dsl-1", organisation_id=SETTING, agency=Agency.SETTING, role=DSL_ROLE)


def test_the_settings_dsl_lists_every_organisations_grants_others_their_own():
    listed = lambda caller: domain.require_may_list_safeguarding(caller, CHILD, AT_SETTING)  # noqa: E731
    assert listed(SETTING_DSL) is domain.SafeguardingScope.SETTING
    assert listed(SENCO) is domain.SafeguardingScope.OWN_ORGANISATION
    assert listed(SLT_DSL) is domain.SafeguardingScope.OWN_ORGANISATION  # a team DSL is not the setting's
    assert listed(SLT) is domain.SafeguardingScope.OWN_ORGANISATION


def test_only_the_granting_organisations_dsl_reads_the_justification():
    access, _ = safeguarding()  # granted by the SLT service's DSL
    assert domain.may_read_justification(SLT_DSL, access)
    assert not domain.may_read_justification(SLT, access)  # same organisation, not its DSL
    assert not domain.may_read_justification(SETTING_DSL, access)  # the setting's DSL: organisation and dates only
    assert not domain.may_read_justification(STRANGER_DSL, access)
    assert not domain.may_read_justification(PARENT, access)


# -- purity ---------------------------------------------------------------------------------


def test_the_decision_and_the_domain_import_no_broker_database_or_web_framework():
    code = (
        "import sys, consent_policy.decision, consent_policy.state, services.consent.domain\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aiokafka', 'faust', 'sqlalchemy', 'fastapi', 'starlette', 'structlog'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
