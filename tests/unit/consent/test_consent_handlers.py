"""The consent service's handlers without a database or a broker: the unit of work is the
in-memory fake of tests/unit/consent/fakes.py, the clock is pinned. What is checked here is
the orchestration — what is loaded, what is stored, which event goes to the outbox, what a
refusal leaves behind — the rules themselves are test_consent_domain's."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from schemas.events.consent import ConsentExpired, ConsentExpiryReminderDue, ConsentGranted, ConsentWithdrawn
from schemas.events.consent import SafeguardingAccessGranted
from schemas.vocabulary import DSL_ROLE, Agency, Category, Purpose
from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, NotFound
from services.consent import domain
from services.consent.service_layer import expiry, handlers
from tests.unit.consent.fakes import FakeUnits
from tests.unit.consent_policy.consent_builders import NOW, ConsentEvents

SETTING = "nursery-1"
SENCO = Principal(practitioner_id="senco-1", organisation_id=SETTING, agency=Agency.SETTING, role="senco")
SETTING_DSL = Principal(practitioner_id="dsl-1", organisation_id=SETTING, agency=Agency.SETTING, role=DSL_ROLE)
SLT = Principal(practitioner_id="slt-1", organisation_id="nhs-slt-1", agency=Agency.SLT_SERVICE, role="therapist")
SLT_DSL = Principal(practitioner_id="slt-dsl", organisation_id="nhs-slt-1", agency=Agency.SLT_SERVICE, role=DSL_ROLE)
STRANGER = Principal(practitioner_id="senco-9", organisation_id="nursery-9", agency=Agency.SETTING, role="senco")
JUSTIFICATION = "Disclosure during a session: significant harm is suspected at home."

events = ConsentEvents()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def units() -> FakeUnits:
    return FakeUnits()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(units, clock) -> handlers.Deps:
    woken = []
    deps = handlers.Deps(clock=clock, units=units, on_commit=lambda: woken.append(1))
    deps.woken = woken  # type: ignore[attr-defined]
    return deps


def registered_child(deps, *team: str):
    child = uuid4()
    assert handlers.record_referrals_event(deps, events.registered(child, SETTING))
    for organisation in team:
        assert handlers.record_referrals_event(deps, events.joined(child, organisation))
    return child


def grant_command(**changes) -> domain.GrantConsent:
    values = dict(given_by_name="Amina Khan", relationship="mother", has_parental_responsibility=True,
                  recipient_organisations=[], recipient_agencies=[Agency.SLT_SERVICE],
                  categories=[Category.SLT], purposes=[Purpose.REFERRAL])
    return domain.GrantConsent(**(values | changes))


def outbox_types(units: FakeUnits) -> list[str]:
    return [e.type for e in units.tables.outbox]


# -- the copy of each child's setting and team ----------------------------------------------


def test_a_referrals_event_is_kept_once_and_only_if_the_decision_folds_it(deps, units):
    child = uuid4()
    registration = events.registered(child, SETTING)
    assert handlers.record_referrals_event(deps, registration)
    assert not handlers.record_referrals_event(deps, registration)  # redelivered
    assert not handlers.record_referrals_event(deps, events.invited(child, "westshire-inclusion"))
    assert units.tables.settings == {child: SETTING}
    assert list(units.tables.state_events) == [registration.id]
    assert units.tables.outbox == []


# -- granting and withdrawing ---------------------------------------------------------------


def test_granting_stores_the_consent_and_emits_one_consent_granted_after_commit(deps, units):
    child = registered_child(deps)
    commits = units.commits
    answer = handlers.grant_consent(deps, SENCO, child, grant_command())
    assert outbox_types(units) == [ConsentGranted.TYPE]
    assert answer["event_id"] == units.tables.outbox[0].id
    assert answer["status"] == "active" and answer["given_by"]["name"] == "Amina Khan"
    assert list(units.tables.consents) == [answer["consent_id"]]
    assert units.commits == commits + 1 and deps.woken  # the relay is woken once the write committed


def test_a_refused_grant_leaves_nothing_behind(deps, units):
    child = registered_child(deps)
    with pytest.raises(NotFound):
        handlers.grant_consent(deps, STRANGER, child, grant_command())  # no relationship: the child "does not exist"
    with pytest.raises(NotFound):
        handlers.grant_consent(deps, SENCO, uuid4(), grant_command())  # not registered (yet)
    assert units.tables.consents == {} and units.tables.outbox == []


def test_a_withdrawal_is_stored_and_announced_once(deps, units):
    child = registered_child(deps)
    consent_id = handlers.grant_consent(deps, SENCO, child, grant_command())["consent_id"]
    cmd = domain.WithdrawConsent(parent_withdrew_on=NOW.date())
    answer = handlers.withdraw_consent(deps, SENCO, child, consent_id, cmd)
    assert answer["status"] == "withdrawn" and answer["withdrawal"]["event_id"] == str(answer["event_id"])
    with pytest.raises(Conflict):
        handlers.withdraw_consent(deps, SENCO, child, consent_id, cmd)
    assert outbox_types(units) == [ConsentGranted.TYPE, ConsentWithdrawn.TYPE]


def test_a_consent_of_another_child_is_not_found_under_this_one(deps):
    child, other = registered_child(deps), registered_child(deps)
    consent_id = handlers.grant_consent(deps, SENCO, other, grant_command())["consent_id"]
    with pytest.raises(NotFound):
        handlers.withdraw_consent(deps, SENCO, child, consent_id, domain.WithdrawConsent(parent_withdrew_on=NOW.date()))


def test_consents_are_listed_to_the_setting_and_refused_to_a_team_member(deps):
    child = registered_child(deps, "nhs-slt-1")
    handlers.grant_consent(deps, SENCO, child, grant_command())
    listed = handlers.list_consents(deps, SENCO, child)
    assert [c["given_by"]["name"] for c in listed["consents"]] == ["Amina Khan"]
    with pytest.raises(Forbidden):
        handlers.list_consents(deps, SLT, child)
    with pytest.raises(NotFound):
        handlers.list_consents(deps, STRANGER, child)


# -- safeguarding ---------------------------------------------------------------------------


def test_break_glass_is_stored_announced_and_listed_by_scope(deps, units):
    child = registered_child(deps, "nhs-slt-1")
    granted = handlers.grant_safeguarding_access(deps, SLT_DSL, child, domain.GrantSafeguardingAccess(JUSTIFICATION))
    assert outbox_types(units) == [SafeguardingAccessGranted.TYPE]
    own = handlers.list_safeguarding_access(deps, SLT, child)
    assert own["scope"] == "own_organisation" and [g["grant_id"] for g in own["grants"]] == [granted["grant_id"]]
    assert "justification" not in own["grants"][0]  # only the granting organisation's DSL reads why
    setting = handlers.list_safeguarding_access(deps, SETTING_DSL, child)
    assert setting["scope"] == "setting" and len(setting["grants"]) == 1
    assert handlers.list_safeguarding_access(deps, SENCO, child)["grants"] == []  # the setting holds none itself


def test_a_team_member_who_left_no_longer_reaches_the_child(deps, clock):
    child = registered_child(deps, "nhs-slt-1")
    assert handlers.record_referrals_event(deps, events.left(child, "nhs-slt-1", at=NOW))
    clock.now = NOW + timedelta(minutes=1)
    with pytest.raises(NotFound):
        handlers.grant_safeguarding_access(deps, SLT_DSL, child, domain.GrantSafeguardingAccess(JUSTIFICATION))


# -- expiry ---------------------------------------------------------------------------------


def test_the_reminder_and_the_expiry_are_each_emitted_once(deps, units, clock):
    child = registered_child(deps)
    handlers.grant_consent(deps, SENCO, child, grant_command(expires_at=NOW + timedelta(days=40)))
    assert expiry.emit_due_notices(deps) == 0
    clock.now = NOW + timedelta(days=11)
    assert expiry.emit_due_notices(deps) == 1
    assert expiry.emit_due_notices(deps) == 0
    clock.now = NOW + timedelta(days=40)
    assert expiry.emit_due_notices(deps) == 1
    assert expiry.emit_due_notices(deps) == 0
    assert outbox_types(units) == [ConsentGranted.TYPE, ConsentExpiryReminderDue.TYPE, ConsentExpired.TYPE]


def test_a_notice_another_task_emitted_first_is_skipped_and_rolled_back(deps, units, clock):
    child = registered_child(deps)
    handlers.grant_consent(deps, SENCO, child, grant_command(expires_at=NOW + timedelta(days=1)))
    clock.now = NOW + timedelta(days=2)
    seen_by_first, seen_by_second = expiry.due_consents(deps), expiry.due_consents(deps)
    assert expiry.emit_notices(deps, seen_by_first) == 1
    assert expiry.emit_notices(deps, seen_by_second) == 0
    assert outbox_types(units) == [ConsentGranted.TYPE, ConsentExpired.TYPE]
