"""Each rule of the consent decision (DESIGN §3) and each of its boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from schemas.catalogue import make_envelope
from schemas.events.consent import ConsentExpiryReminderDue
from schemas.events.referrals import ChildRegistered
from schemas.vocabulary import Agency, Category
from services.consent.decision import ConsentState, Decision, Entry, Viewer, decide

from tests.unit.consent.consent_builders import NOW, SETTING_ACTOR

CHILD = UUID("00000000-0000-4000-8000-000000000001")
OTHER_CHILD = UUID("00000000-0000-4000-8000-000000000002")

SLT = Viewer("slt-1", "nhs-slt-1", Agency.SLT_SERVICE)
OTHER_SLT = Viewer("slt-2", "nhs-slt-2", Agency.SLT_SERVICE)
EP = Viewer("ep-1", "ep-1", Agency.EP_SERVICE)
PARENT = Viewer("parent-1", None, Agency.PARENT, children=frozenset({CHILD}))
PARENT_OF_OTHER = Viewer("parent-2", None, Agency.PARENT, children=frozenset({OTHER_CHILD}))


def entry(category: str = "concern", *, author: str | None = "nursery-1", child: UUID = CHILD) -> Entry:
    return Entry(event_id=uuid4(), child_id=child, author_organisation_id=author, category=category)


def state(*envelopes) -> ConsentState:
    return ConsentState.from_events(envelopes)


# -- rule 1: parents ------------------------------------------------------------------------


def test_a_parent_sees_every_entry_about_their_child_without_any_consent():
    for category in Category:
        decision = decide(PARENT, entry(category.value), NOW, ConsentState())
        assert decision == Decision(True, "parent", decision.reason)
        assert decision.code == "parent"


def test_the_parent_of_another_child_is_denied_even_with_consents_in_place(events):
    s = state(events.granted(CHILD, agencies=tuple(a for a in Agency if a is not Agency.PARENT)))
    decision = decide(PARENT_OF_OTHER, entry(), NOW, s)
    assert not decision.permitted
    assert decision.basis is None
    assert decision.code == "not_parent_of_child"


def test_an_entry_written_by_a_parent_is_not_visible_to_the_parent_of_another_child():
    assert decide(PARENT_OF_OTHER, entry(author=None), NOW, ConsentState()).code == "not_parent_of_child"


# -- rule 2: own records --------------------------------------------------------------------


def test_an_organisation_always_sees_its_own_entries_without_consent():
    decision = decide(SLT, entry("slt", author="nhs-slt-1"), NOW, ConsentState())
    assert (decision.permitted, decision.basis) == (True, "own")


def test_own_is_the_basis_even_when_a_consent_would_also_permit(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), categories=(Category.SLT,)))
    assert decide(SLT, entry("slt", author="nhs-slt-1"), NOW, s).basis == "own"


def test_an_entry_written_by_a_parent_is_no_organisations_own():
    assert decide(SLT, entry(author=None), NOW, ConsentState()).code == "no_active_consent"


def test_another_organisation_of_the_same_agency_does_not_see_an_entry_as_its_own():
    assert not decide(OTHER_SLT, entry("slt", author="nhs-slt-1"), NOW, ConsentState()).permitted


# -- rule 3: safeguarding -------------------------------------------------------------------


def test_safeguarding_access_opens_every_category_of_the_child_to_its_organisation(events):
    grant_id = uuid4()
    s = state(events.safeguarding(CHILD, "ep-1", grant_id=grant_id))
    for category in Category:
        decision = decide(EP, entry(category.value), NOW, s)
        assert (decision.permitted, decision.basis) == (True, f"safeguarding:{grant_id}")


def test_safeguarding_access_is_preferred_to_a_consent_as_the_basis(events):
    grant_id = uuid4()
    s = state(events.granted(CHILD, organisations=("ep-1",)), events.safeguarding(CHILD, "ep-1", grant_id=grant_id))
    assert decide(EP, entry(), NOW, s).basis == f"safeguarding:{grant_id}"


def test_safeguarding_access_does_not_extend_to_other_organisations_of_the_same_agency(events):
    s = state(events.safeguarding(CHILD, "nhs-slt-1"))
    assert decide(OTHER_SLT, entry(), NOW, s).code == "no_active_consent"


def test_safeguarding_access_for_another_child_does_not_apply(events):
    s = state(events.safeguarding(OTHER_CHILD, "ep-1"))
    assert not decide(EP, entry(), NOW, s).permitted


def test_safeguarding_access_ends_exactly_at_its_expiry(events):
    s = state(events.safeguarding(CHILD, "ep-1", granted_at=NOW - timedelta(hours=72), hours=72))
    assert not decide(EP, entry(), NOW, s).permitted
    assert decide(EP, entry(), NOW - timedelta(microseconds=1), s).permitted


def test_safeguarding_access_starts_at_the_moment_it_is_granted(events):
    s = state(events.safeguarding(CHILD, "ep-1", granted_at=NOW, hours=1))
    assert decide(EP, entry(), NOW, s).permitted
    assert not decide(EP, entry(), NOW - timedelta(microseconds=1), s).permitted


# -- rule 4: consent ------------------------------------------------------------------------


def test_an_active_consent_naming_the_organisation_permits_with_its_id_as_the_basis(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)))
    decision = decide(SLT, entry(), NOW, s)
    assert (decision.permitted, decision.basis, decision.code) == (True, f"consent:{consent_id}", "consent")


def test_a_consent_naming_an_agency_permits_every_organisation_of_that_agency(events):
    s = state(events.granted(CHILD, agencies=(Agency.SLT_SERVICE,)))
    assert decide(SLT, entry(), NOW, s).permitted
    assert decide(OTHER_SLT, entry(), NOW, s).permitted
    assert not decide(EP, entry(), NOW, s).permitted


def test_a_consent_naming_an_organisation_does_not_permit_others_of_its_agency(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)))
    assert decide(SLT, entry(), NOW, s).permitted
    assert not decide(OTHER_SLT, entry(), NOW, s).permitted


def test_a_consent_does_not_open_categories_it_does_not_name(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), categories=(Category.CONCERN, Category.SLT)))
    assert decide(SLT, entry("slt"), NOW, s).permitted
    assert not decide(SLT, entry("ehc"), NOW, s).permitted


def test_a_consent_for_another_child_does_not_permit(events):
    s = state(events.granted(OTHER_CHILD, organisations=("nhs-slt-1",)))
    assert not decide(SLT, entry(), NOW, s).permitted


def test_a_consent_starting_in_the_future_does_not_permit_yet(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW + timedelta(seconds=1)))
    decision = decide(SLT, entry(), NOW, s)
    assert decision.code == "no_active_consent"
    assert "not yet started" in decision.reason


def test_a_consent_permits_from_the_instant_it_starts(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW))
    assert decide(SLT, entry(), NOW, s).permitted


def test_a_consent_expiring_exactly_now_no_longer_permits(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW - timedelta(days=30), expires_at=NOW))
    decision = decide(SLT, entry(), NOW, s)
    assert decision.code == "no_active_consent"
    assert "expired" in decision.reason
    assert decide(SLT, entry(), NOW - timedelta(microseconds=1), s).permitted


def test_a_withdrawn_consent_no_longer_permits(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)), events.withdrawn(CHILD, consent_id))
    decision = decide(SLT, entry(), NOW, s)
    assert decision.code == "no_active_consent"
    assert f"{consent_id} withdrawn" in decision.reason


def test_a_withdrawal_takes_effect_at_once_whatever_date_it_carries(events):
    consent_id = uuid4()
    s = state(
        events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)),
        events.withdrawn(CHILD, consent_id, withdrawn_at=NOW + timedelta(days=10)),
    )
    assert not decide(SLT, entry(), NOW, s).permitted


def test_a_withdrawal_that_arrives_before_its_grant_still_withdraws_it(events):
    consent_id = uuid4()
    grant = events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",))
    s = ConsentState().apply(events.withdrawn(CHILD, consent_id)).apply(grant)
    assert not decide(SLT, entry(), NOW, s).permitted


def test_a_consent_declared_expired_stops_permitting_even_before_its_end_date(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)), events.expired(CHILD, consent_id))
    assert not decide(SLT, entry(), NOW, s).permitted


def test_entries_in_the_consent_category_follow_the_same_rules(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), categories=(Category.CONSENT,)))
    assert decide(SLT, entry("consent"), NOW, s).permitted
    assert not decide(EP, entry("consent"), NOW, s).permitted


def test_when_several_consents_permit_the_lowest_id_is_the_basis(events):
    low, high = UUID("10000000-0000-4000-8000-000000000000"), UUID("f0000000-0000-4000-8000-000000000000")
    grants = [events.granted(CHILD, consent_id=cid, agencies=(Agency.SLT_SERVICE,)) for cid in (high, low)]
    assert decide(SLT, entry(), NOW, state(*grants)).basis == f"consent:{low}"
    assert decide(SLT, entry(), NOW, state(*reversed(grants))).basis == f"consent:{low}"


def test_when_several_safeguarding_grants_permit_the_lowest_id_is_the_basis(events):
    low, high = UUID("10000000-0000-4000-8000-000000000000"), UUID("f0000000-0000-4000-8000-000000000000")
    s = state(*(events.safeguarding(CHILD, "ep-1", grant_id=gid) for gid in (high, low)))
    assert decide(EP, entry(), NOW, s).basis == f"safeguarding:{low}"


def test_a_withdrawn_consent_does_not_hide_another_active_one(events):
    withdrawn_id, active_id = uuid4(), uuid4()
    s = state(
        events.granted(CHILD, consent_id=withdrawn_id, organisations=("nhs-slt-1",)),
        events.granted(CHILD, consent_id=active_id, agencies=(Agency.SLT_SERVICE,)),
        events.withdrawn(CHILD, withdrawn_id),
    )
    assert decide(SLT, entry(), NOW, s).basis == f"consent:{active_id}"


# -- rule 5: default deny, and unknown categories ------------------------------------------


def test_with_no_consent_a_practitioner_is_denied_with_a_reason():
    decision = decide(SLT, entry(), NOW, ConsentState())
    assert decision == Decision(False, None, decision.reason)
    assert decision.reason.startswith("no_active_consent: ")
    assert "nhs-slt-1" in decision.reason and "concern" in decision.reason


@pytest.mark.parametrize("category", ["audit", "Concern", "", "medical", "concern "])
def test_an_unknown_category_is_denied_to_everyone_even_the_parent_and_the_author(events, category):
    s = state(events.safeguarding(CHILD, "nhs-slt-1"))
    for viewer in (PARENT, SLT):
        decision = decide(viewer, entry(category, author="nhs-slt-1"), NOW, s)
        assert (decision.permitted, decision.code) == (False, "unknown_category")


# -- the viewer, the clock and the fold -----------------------------------------------------


def test_a_naive_time_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(SLT, entry(), datetime(2025, 3, 1, 12, 0), ConsentState())


def test_times_in_other_offsets_compare_as_the_same_instant(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW))
    one_hour_ahead = timezone(timedelta(hours=1))
    assert decide(SLT, entry(), NOW.astimezone(one_hour_ahead), s).permitted
    assert not decide(SLT, entry(), (NOW - timedelta(seconds=1)).astimezone(one_hour_ahead), s).permitted


def test_a_viewer_must_be_either_a_parent_without_organisation_or_a_practitioner_with_one():
    with pytest.raises(ValueError):
        Viewer("parent-1", "nursery-1", Agency.PARENT)
    with pytest.raises(ValueError):
        Viewer("slt-1", None, Agency.SLT_SERVICE)
    with pytest.raises(ValueError):
        Viewer("x-1", "org", "police")


def test_a_viewer_and_an_entry_accept_ids_as_strings():
    viewer = Viewer("parent-1", None, "parent", children=frozenset({str(CHILD)}))
    assert viewer.agency is Agency.PARENT
    assert decide(viewer, Entry(str(uuid4()), str(CHILD), None, Category.EHC), NOW, ConsentState()).permitted


def test_folding_the_same_event_twice_changes_nothing(events):
    grant = events.granted(CHILD, organisations=("nhs-slt-1",))
    once = ConsentState().apply(grant)
    assert once.apply(grant) == once
    assert ConsentState.from_events([grant, grant]) == once


def test_folding_is_insensitive_to_the_order_of_events(events):
    consent_id = uuid4()
    history = [
        events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)),
        events.safeguarding(CHILD, "ep-1"),
        events.withdrawn(CHILD, consent_id),
        events.expired(OTHER_CHILD, uuid4()),
    ]
    forwards = ConsentState.from_events(history)
    backwards = ConsentState()
    for envelope in reversed(history):
        backwards = backwards.apply(envelope)
    assert forwards == backwards


def test_applying_an_event_leaves_the_earlier_state_unchanged(events):
    empty = ConsentState()
    grown = empty.apply(events.granted(CHILD, organisations=("nhs-slt-1",)))
    assert empty == ConsentState() and grown != empty
    assert not decide(SLT, entry(), NOW, empty).permitted


def test_events_that_do_not_change_consent_are_ignored_by_the_fold(events):
    reminder = make_envelope(
        ConsentExpiryReminderDue(consent_id=uuid4(), expires_at=NOW), subject=CHILD, actor=SETTING_ACTOR, source="/tac/consent"
    )
    registered = make_envelope(
        ChildRegistered(setting_organisation_id="nursery-1"), subject=CHILD, actor=SETTING_ACTOR, source="/tac/referrals"
    )
    assert ConsentState.from_events([reminder, registered]) == ConsentState()
    assert ConsentState().apply(reminder).apply(registered) == ConsentState()


def test_folding_a_bare_payload_is_refused_because_it_does_not_say_which_child(events):
    with pytest.raises(TypeError, match="envelope"):
        ConsentState().apply(events.granted(CHILD, organisations=("nhs-slt-1",)).data)


def test_two_grants_under_one_id_permit_only_what_both_permit(events):
    consent_id = uuid4()
    s = state(
        events.granted(CHILD, consent_id=consent_id, agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN, Category.SLT)),
        events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",), categories=(Category.CONCERN,)),
    )
    assert decide(SLT, entry("concern"), NOW, s).permitted
    assert not decide(SLT, entry("slt"), NOW, s).permitted
    assert not decide(OTHER_SLT, entry("concern"), NOW, s).permitted


def test_the_state_answers_which_consents_a_child_has_and_whether_each_is_active(events):
    active_id, withdrawn_id = uuid4(), uuid4()
    s = state(
        events.granted(CHILD, consent_id=active_id, organisations=("nhs-slt-1",)),
        events.granted(CHILD, consent_id=withdrawn_id, organisations=("nhs-slt-1",)),
        events.withdrawn(CHILD, withdrawn_id),
    )
    assert s.consent_ids_for(CHILD) == {active_id, withdrawn_id}
    assert s.consent_ids_for(OTHER_CHILD) == frozenset()
    assert s.is_active(active_id, NOW) and not s.is_active(withdrawn_id, NOW)
    assert not s.is_active(uuid4(), NOW)
