"""Each rule of the consent decision (DESIGN §3, six rules) and each of its boundaries.

1 parent · 2 own records · 3 answers to the organisation's own requests (`own_request`) ·
4 break-glass safeguarding · 5 on the child's team now AND an active consent covers it ·
6 deny. The team is folded from ChildRegistered (the setting), TeamMemberJoined and
TeamMemberLeft, by event time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from schemas.catalogue import make_envelope
from schemas.events.consent import ConsentExpiryReminderDue
from schemas.events.referrals import ConcernRaised, KeyPersonNamed
from schemas.vocabulary import Agency, AreaOfNeed, Category, TeamLeaveRoute
from consent_policy.decision import Decision, Entry, Viewer, decide
from consent_policy.state import FOLDED_TYPES, ConsentState

from tests.unit.consent_policy.consent_builders import NOW, SETTING_ACTOR

CHILD = UUID("00000000-0000-4000-8000-000000000001")
OTHER_CHILD = UUID("00000000-0000-4000-8000-000000000002")

SLT = Viewer("slt-1", "nhs-slt-1", Agency.SLT_SERVICE)
OTHER_SLT = Viewer("slt-2", "nhs-slt-2", Agency.SLT_SERVICE)
EP = Viewer("ep-1", "ep-1", Agency.EP_SERVICE)
SETTING = Viewer("senco-1", "nursery-1", Agency.SETTING)
# Step 13 of SCENARIO.md: an area SENCO team that does not work with the child.
STRANGER = Viewer("kit-ward", "westshire-inclusion", Agency.AREA_SENCO)
AREA_SENCO = Viewer("area-senco-1", "eastshire-inclusion", Agency.AREA_SENCO)
PARENT = Viewer("parent-1", None, Agency.PARENT, children=frozenset({CHILD}))
PARENT_OF_OTHER = Viewer("parent-2", None, Agency.PARENT, children=frozenset({OTHER_CHILD}))

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def entry(
    category: str = "concern", *, author: str | None = "nursery-1", child: UUID = CHILD, answers: str | None = None
) -> Entry:
    return Entry(event_id=uuid4(), child_id=child, author_organisation_id=author, category=category,
                 answers_request_of=answers)


def state(*envelopes) -> ConsentState:
    return ConsentState.from_events(envelopes)


def team(events, *organisations: str, child: UUID = CHILD) -> list:
    """Each organisation joined the child's team a day before NOW."""
    return [events.joined(child, org) for org in organisations]


# -- rule 1: parents ------------------------------------------------------------------------


def test_a_parent_sees_every_entry_about_their_child_without_any_consent():
    for category in Category:
        decision = decide(PARENT, entry(category.value), NOW, ConsentState())
        assert decision == Decision(True, "parent", decision.reason)
        assert decision.code == "parent"


def test_a_parent_needs_no_team_membership_to_see_their_child():
    assert decide(PARENT, entry(), NOW, ConsentState()).permitted


def test_the_parent_of_another_child_is_denied_even_with_consents_in_place(events):
    s = state(events.granted(CHILD, agencies=tuple(a for a in Agency if a is not Agency.PARENT)))
    decision = decide(PARENT_OF_OTHER, entry(), NOW, s)
    assert not decision.permitted
    assert decision.basis is None
    assert decision.code == "not_parent_of_child"


def test_an_entry_written_by_a_parent_is_not_visible_to_the_parent_of_another_child():
    assert decide(PARENT_OF_OTHER, entry(author=None), NOW, ConsentState()).code == "not_parent_of_child"


# -- rule 2: own records --------------------------------------------------------------------


def test_an_organisation_always_sees_its_own_entries_without_consent_or_team():
    decision = decide(SLT, entry("slt", author="nhs-slt-1"), NOW, ConsentState())
    assert (decision.permitted, decision.basis) == (True, "own")


def test_own_is_the_basis_even_when_a_consent_would_also_permit(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), categories=(Category.SLT,)), *team(events, "nhs-slt-1"))
    assert decide(SLT, entry("slt", author="nhs-slt-1"), NOW, s).basis == "own"


def test_an_organisation_that_left_the_team_still_sees_its_own_records(events):
    s = state(events.joined(CHILD, "nhs-slt-1", at=NOW - 2 * HOUR), events.left(CHILD, "nhs-slt-1", at=NOW - HOUR))
    assert decide(SLT, entry("slt", author="nhs-slt-1"), NOW, s).basis == "own"


def test_an_entry_written_by_a_parent_is_no_organisations_own():
    assert decide(SLT, entry(author=None), NOW, ConsentState()).code == "no_active_consent"


def test_another_organisation_of_the_same_agency_does_not_see_an_entry_as_its_own():
    assert not decide(OTHER_SLT, entry("slt", author="nhs-slt-1"), NOW, ConsentState()).permitted


# -- rule 3: answers to the organisation's own requests (own_request) -----------------------


def test_the_answer_to_a_referral_is_visible_to_the_organisation_that_made_it_with_no_consent_or_team():
    accepted = entry("referral", author="nhs-slt-1", answers="nursery-1")
    decision = decide(SETTING, accepted, NOW, ConsentState())
    assert (decision.permitted, decision.basis, decision.code) == (True, "own_request", "own_request")
    assert "nursery-1" in decision.reason


@pytest.mark.parametrize("category", [c.value for c in Category])
def test_an_answer_to_an_own_request_is_visible_whatever_its_category(category):
    assert decide(SETTING, entry(category, author="ep-1", answers="nursery-1"), NOW, ConsentState()).basis == "own_request"


def test_the_answer_to_a_request_is_not_visible_to_another_organisation_of_the_requesters_agency():
    other_setting = Viewer("senco-2", "nursery-2", Agency.SETTING)
    decision = decide(other_setting, entry("referral", author="nhs-slt-1", answers="nursery-1"), NOW, ConsentState())
    assert decision.code == "no_active_consent"


def test_an_entry_that_answers_no_request_gives_nobody_own_request():
    assert decide(SETTING, entry("referral", author="nhs-slt-1", answers=None), NOW, ConsentState()).code == "no_active_consent"


def test_own_request_does_not_open_the_answer_to_a_parent_of_another_child():
    assert not decide(PARENT_OF_OTHER, entry("referral", answers="nursery-1"), NOW, ConsentState()).permitted


def test_own_comes_before_own_request_when_an_organisation_answers_its_own_request():
    assert decide(SETTING, entry("referral", author="nursery-1", answers="nursery-1"), NOW, ConsentState()).basis == "own"


def test_own_request_is_the_basis_even_when_safeguarding_or_consent_would_also_permit(events):
    s = state(events.registered(CHILD, "nursery-1"), events.granted(CHILD, agencies=(Agency.SETTING,),
              categories=(Category.REFERRAL,)), events.safeguarding(CHILD, "nursery-1"))
    assert decide(SETTING, entry("referral", author="nhs-slt-1", answers="nursery-1"), NOW, s).basis == "own_request"


def test_own_request_outlasts_leaving_the_team_and_withdrawal_of_every_consent(events):
    consent_id = uuid4()
    s = state(events.registered(CHILD, "nursery-1", at=NOW - 3 * HOUR),
              events.granted(CHILD, consent_id=consent_id, agencies=(Agency.SETTING,), categories=(Category.REFERRAL,)),
              events.withdrawn(CHILD, consent_id), events.left(CHILD, "nursery-1", at=NOW - HOUR))
    assert decide(SETTING, entry("referral", author="nhs-slt-1", answers="nursery-1"), NOW, s).basis == "own_request"


def test_an_answer_in_an_unknown_category_is_denied_even_to_the_requester():
    assert decide(SETTING, entry("audit", author="nhs-slt-1", answers="nursery-1"), NOW, ConsentState()).code == (
        "unknown_category")


# -- rule 4: safeguarding -------------------------------------------------------------------


def test_safeguarding_access_opens_every_category_of_the_child_to_its_organisation(events):
    grant_id = uuid4()
    s = state(events.safeguarding(CHILD, "ep-1", grant_id=grant_id))
    for category in Category:
        decision = decide(EP, entry(category.value), NOW, s)
        assert (decision.permitted, decision.basis) == (True, f"safeguarding:{grant_id}")


def test_safeguarding_access_needs_no_team_membership(events):
    assert decide(STRANGER, entry(), NOW, state(events.safeguarding(CHILD, "westshire-inclusion"))).code == "safeguarding"


def test_safeguarding_access_is_preferred_to_a_consent_as_the_basis(events):
    grant_id = uuid4()
    s = state(events.granted(CHILD, organisations=("ep-1",)), events.safeguarding(CHILD, "ep-1", grant_id=grant_id),
              *team(events, "ep-1"))
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


def test_when_several_safeguarding_grants_permit_the_lowest_id_is_the_basis(events):
    low, high = UUID("10000000-0000-4000-8000-000000000000"), UUID("f0000000-0000-4000-8000-000000000000")
    s = state(*(events.safeguarding(CHILD, "ep-1", grant_id=gid) for gid in (high, low)))
    assert decide(EP, entry(), NOW, s).basis == f"safeguarding:{low}"


# -- rule 5: on the team now, and an active consent covers the entry --------------------------


def test_a_team_member_named_by_an_active_consent_is_permitted_with_the_consent_id_as_the_basis(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)), *team(events, "nhs-slt-1"))
    decision = decide(SLT, entry(), NOW, s)
    assert (decision.permitted, decision.basis, decision.code) == (True, f"consent:{consent_id}", "consent")


def test_a_consent_naming_the_organisation_is_denied_as_not_on_team_when_it_is_not_on_the_team(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)))
    decision = decide(SLT, entry(), NOW, s)
    assert decision == Decision(False, None, decision.reason)
    assert decision.code == "not_on_team"
    assert "nhs-slt-1" in decision.reason


def test_an_agency_kind_consent_does_not_reach_an_organisation_of_that_kind_outside_the_team(events):
    s = state(events.registered(CHILD, "nursery-1"), events.granted(CHILD, agencies=(Agency.AREA_SENCO,)),
              events.joined(CHILD, "eastshire-inclusion", agency=Agency.AREA_SENCO))
    assert decide(AREA_SENCO, entry(), NOW, s).code == "consent"
    assert decide(STRANGER, entry(), NOW, s).code == "not_on_team"


def test_an_agency_kind_consent_reaches_an_organisation_that_joins_later_without_a_new_consent(events):
    consent_id = uuid4()
    grant = events.granted(CHILD, consent_id=consent_id, agencies=(Agency.AREA_SENCO,), valid_from=NOW - 10 * HOUR)
    before = state(grant)
    after = before.apply(events.joined(CHILD, "westshire-inclusion", agency=Agency.AREA_SENCO, at=NOW - HOUR))
    assert decide(STRANGER, entry(), NOW, before).code == "not_on_team"
    assert decide(STRANGER, entry(), NOW, after).basis == f"consent:{consent_id}"
    # Read at a moment before the join, the same state still says no.
    assert decide(STRANGER, entry(), NOW - 2 * HOUR, after).code == "not_on_team"


def test_a_team_member_with_no_consent_is_denied_as_no_active_consent(events):
    s = state(*team(events, "nhs-slt-1"))
    assert decide(SLT, entry(), NOW, s).code == "no_active_consent"


def test_being_on_the_team_does_not_widen_a_consent_beyond_its_categories(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), categories=(Category.CONCERN, Category.SLT)),
              *team(events, "nhs-slt-1"))
    assert decide(SLT, entry("slt"), NOW, s).permitted
    assert decide(SLT, entry("ehc"), NOW, s).code == "no_active_consent"


def test_membership_of_another_childs_team_does_not_count(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), *team(events, "nhs-slt-1", child=OTHER_CHILD))
    assert decide(SLT, entry(), NOW, s).code == "not_on_team"


def test_a_join_dated_after_now_does_not_count_yet(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), events.joined(CHILD, "nhs-slt-1", at=NOW + HOUR))
    assert decide(SLT, entry(), NOW, s).code == "not_on_team"
    assert decide(SLT, entry(), NOW + HOUR, s).permitted


def test_membership_starts_at_the_instant_of_the_join(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), events.joined(CHILD, "nhs-slt-1", at=NOW))
    assert decide(SLT, entry(), NOW, s).permitted
    assert decide(SLT, entry(), NOW - timedelta(microseconds=1), s).code == "not_on_team"


def test_leaving_the_team_ends_consent_based_access_as_soon_as_the_leave_is_known(events):
    before = state(events.granted(CHILD, organisations=("nhs-slt-1",)), events.joined(CHILD, "nhs-slt-1", at=NOW - 5 * HOUR))
    assert decide(SLT, entry(), NOW, before).permitted
    after = before.apply(events.left(CHILD, "nhs-slt-1", at=NOW))
    assert decide(SLT, entry(), NOW, after).code == "not_on_team"


def test_a_leave_stamped_ahead_of_the_readers_clock_still_ends_membership_at_once(events):
    """A removal written by a host whose clock runs ahead must not leave access open until the
    reader's clock catches up: like a withdrawal, a leave counts whatever time it carries."""
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), events.joined(CHILD, "nhs-slt-1", at=NOW - HOUR),
              events.left(CHILD, "nhs-slt-1", at=NOW + 10 * MINUTE))
    assert decide(SLT, entry(), NOW, s).code == "not_on_team"


def test_a_join_stamped_ahead_of_the_readers_clock_does_not_count_yet(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), events.joined(CHILD, "nhs-slt-1", at=NOW + 10 * MINUTE))
    assert decide(SLT, entry(), NOW, s).code == "not_on_team"
    assert decide(SLT, entry(), NOW + 10 * MINUTE, s).permitted


@pytest.mark.parametrize("ended_by", list(TeamLeaveRoute))
def test_removal_by_the_parent_or_the_setting_ends_access_like_leaving(events, ended_by):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), *team(events, "nhs-slt-1"),
              events.left(CHILD, "nhs-slt-1", at=NOW - HOUR, ended_by=ended_by))
    assert decide(SLT, entry(), NOW, s).code == "not_on_team"


def test_a_rejoin_after_a_leave_counts_from_its_own_time(events):
    history = [
        events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW - 24 * HOUR),
        events.joined(CHILD, "nhs-slt-1", at=NOW - 10 * HOUR),
        events.left(CHILD, "nhs-slt-1", at=NOW - 6 * HOUR),
        events.joined(CHILD, "nhs-slt-1", at=NOW - 2 * HOUR),
    ]
    s = state(*history)
    # The leave counts whatever its time; the rejoin from its own time.
    expected = {-12: False, -10: False, -8: False, -6: False, -4: False, -2: True, 0: True}
    for hours, on_team in expected.items():
        assert decide(SLT, entry(), NOW + hours * HOUR, s).permitted is on_team, hours
        assert s.is_team_member(CHILD, "nhs-slt-1", NOW + hours * HOUR) is on_team, hours


def test_a_leave_that_arrives_before_an_earlier_join_still_ends_membership(events):
    join, leave = events.joined(CHILD, "nhs-slt-1", at=NOW - 2 * HOUR), events.left(CHILD, "nhs-slt-1", at=NOW - HOUR)
    s = ConsentState().apply(events.granted(CHILD, organisations=("nhs-slt-1",))).apply(leave).apply(join)
    assert decide(SLT, entry(), NOW, s).code == "not_on_team"


def test_a_join_that_arrives_late_does_not_undo_a_later_leave(events):
    s = ConsentState().apply(events.left(CHILD, "nhs-slt-1", at=NOW - HOUR))
    s = s.apply(events.joined(CHILD, "nhs-slt-1", at=NOW - 2 * HOUR))
    assert not s.is_team_member(CHILD, "nhs-slt-1", NOW)


@pytest.mark.parametrize("ids", [("1", "f"), ("f", "1")])
def test_a_leave_wins_over_a_join_at_the_same_instant_whatever_the_event_ids_or_arrival_order(events, ids):
    join_id, leave_id = (UUID(f"{i}0000000-0000-4000-8000-000000000000") for i in ids)
    join = events.joined(CHILD, "nhs-slt-1", at=NOW - HOUR, event_id=join_id)
    leave = events.left(CHILD, "nhs-slt-1", at=NOW - HOUR, event_id=leave_id)
    grant = events.granted(CHILD, organisations=("nhs-slt-1",))
    for order in ([grant, join, leave], [grant, leave, join]):
        s = ConsentState()
        for e in order:
            s = s.apply(e)
        assert decide(SLT, entry(), NOW, s).code == "not_on_team"


def test_a_tie_in_another_offset_is_still_a_tie_and_the_leave_wins(events):
    plus_one = timezone(timedelta(hours=1))
    s = state(events.joined(CHILD, "nhs-slt-1", at=NOW - HOUR),
              events.left(CHILD, "nhs-slt-1", at=(NOW - HOUR).astimezone(plus_one)))
    assert not s.is_team_member(CHILD, "nhs-slt-1", NOW)


def test_child_registration_puts_the_setting_on_the_team_from_the_moment_of_registration(events):
    s = state(events.registered(CHILD, "nursery-1", at=NOW - HOUR),
              events.granted(CHILD, agencies=(Agency.SETTING,), categories=(Category.SLT,)))
    assert s.team_members(CHILD, NOW) == {"nursery-1"}
    assert decide(SETTING, entry("slt", author="nhs-slt-1"), NOW, s).code == "consent"
    assert decide(SETTING, entry("slt", author="nhs-slt-1"), NOW - 2 * HOUR, s).code == "not_on_team"


def test_another_setting_is_not_on_the_team_because_a_consent_names_settings(events):
    other_setting = Viewer("senco-9", "sunflower-nursery", Agency.SETTING)
    s = state(events.registered(CHILD, "nursery-1"), events.granted(CHILD, agencies=(Agency.SETTING,)))
    assert decide(other_setting, entry(author="nhs-slt-1"), NOW, s).code == "not_on_team"


def test_an_invitation_sent_or_declined_puts_nobody_on_the_team(events):
    s = state(events.granted(CHILD, agencies=(Agency.AREA_SENCO,)),
              events.invited(CHILD, "westshire-inclusion"), events.invitation_declined(CHILD, "westshire-inclusion"))
    assert s.team == frozenset()
    assert s.team_members(CHILD, NOW) == frozenset()
    assert decide(STRANGER, entry(), NOW, s).code == "not_on_team"


def test_the_state_lists_the_team_at_a_moment(events):
    s = state(events.registered(CHILD, "nursery-1", at=NOW - 9 * HOUR),
              events.joined(CHILD, "nhs-slt-1", at=NOW - 8 * HOUR),
              events.joined(CHILD, "ep-1", at=NOW - 4 * HOUR), events.left(CHILD, "nhs-slt-1", at=NOW - 2 * HOUR),
              events.joined(OTHER_CHILD, "nhs-slt-2", at=NOW - 8 * HOUR))
    assert s.team_members(CHILD, NOW) == {"nursery-1", "ep-1"}
    # Joins count from their time; nhs-slt-1's leave, once known, counts at any moment.
    assert s.team_members(CHILD, NOW - 5 * HOUR) == {"nursery-1"}
    assert s.team_members(CHILD, NOW - 10 * HOUR) == frozenset()
    assert s.team_members(OTHER_CHILD, NOW) == {"nhs-slt-2"}


def test_covering_consent_names_the_consent_that_would_permit_team_aside(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, agencies=(Agency.AREA_SENCO,)))
    assert s.covering_consent(STRANGER, entry(), NOW) == consent_id
    assert s.covering_consent(EP, entry(), NOW) is None


def test_a_withdrawn_consent_denies_a_team_member(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)), events.withdrawn(CHILD, consent_id),
              *team(events, "nhs-slt-1"))
    decision = decide(SLT, entry(), NOW, s)
    assert decision.code == "no_active_consent"
    assert f"{consent_id} withdrawn" in decision.reason


def test_a_consent_naming_an_agency_permits_every_team_member_of_that_agency_and_no_other(events):
    s = state(events.granted(CHILD, agencies=(Agency.SLT_SERVICE,)), *team(events, "nhs-slt-1", "nhs-slt-2", "ep-1"))
    assert decide(SLT, entry(), NOW, s).permitted
    assert decide(OTHER_SLT, entry(), NOW, s).permitted
    assert decide(EP, entry(), NOW, s).code == "no_active_consent"


def test_a_consent_naming_an_organisation_does_not_permit_others_of_its_agency(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",)), *team(events, "nhs-slt-1", "nhs-slt-2"))
    assert decide(SLT, entry(), NOW, s).permitted
    assert not decide(OTHER_SLT, entry(), NOW, s).permitted


def test_a_consent_for_another_child_does_not_permit(events):
    s = state(events.granted(OTHER_CHILD, organisations=("nhs-slt-1",)), *team(events, "nhs-slt-1"))
    assert not decide(SLT, entry(), NOW, s).permitted


def test_a_consent_starting_in_the_future_does_not_permit_yet(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW + timedelta(seconds=1)),
              *team(events, "nhs-slt-1"))
    decision = decide(SLT, entry(), NOW, s)
    assert decision.code == "no_active_consent"
    assert "not yet started" in decision.reason


def test_a_consent_permits_from_the_instant_it_starts(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW), *team(events, "nhs-slt-1"))
    assert decide(SLT, entry(), NOW, s).permitted


def test_a_consent_expiring_exactly_now_no_longer_permits(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW - timedelta(days=30), expires_at=NOW),
              *team(events, "nhs-slt-1"))
    decision = decide(SLT, entry(), NOW, s)
    assert decision.code == "no_active_consent"
    assert "expired" in decision.reason
    assert decide(SLT, entry(), NOW - timedelta(microseconds=1), s).permitted


def test_a_withdrawal_takes_effect_at_once_whatever_date_it_carries(events):
    consent_id = uuid4()
    s = state(
        events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)),
        events.withdrawn(CHILD, consent_id, withdrawn_at=NOW + timedelta(days=10)),
        *team(events, "nhs-slt-1"),
    )
    assert not decide(SLT, entry(), NOW, s).permitted


def test_a_withdrawal_that_arrives_before_its_grant_still_withdraws_it(events):
    consent_id = uuid4()
    grant = events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",))
    s = ConsentState().apply(events.withdrawn(CHILD, consent_id)).apply(grant).apply(events.joined(CHILD, "nhs-slt-1"))
    assert not decide(SLT, entry(), NOW, s).permitted


def test_a_consent_declared_expired_stops_permitting_even_before_its_end_date(events):
    consent_id = uuid4()
    s = state(events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)), events.expired(CHILD, consent_id),
              *team(events, "nhs-slt-1"))
    assert not decide(SLT, entry(), NOW, s).permitted


def test_entries_in_the_consent_category_follow_the_same_rules(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), categories=(Category.CONSENT,)),
              *team(events, "nhs-slt-1", "ep-1"))
    assert decide(SLT, entry("consent"), NOW, s).permitted
    assert not decide(EP, entry("consent"), NOW, s).permitted


def test_when_several_consents_permit_the_lowest_id_is_the_basis(events):
    low, high = UUID("10000000-0000-4000-8000-000000000000"), UUID("f0000000-0000-4000-8000-000000000000")
    grants = [events.granted(CHILD, consent_id=cid, agencies=(Agency.SLT_SERVICE,)) for cid in (high, low)]
    on_team = team(events, "nhs-slt-1")
    assert decide(SLT, entry(), NOW, state(*grants, *on_team)).basis == f"consent:{low}"
    assert decide(SLT, entry(), NOW, state(*reversed(grants), *on_team)).basis == f"consent:{low}"


def test_a_withdrawn_consent_does_not_hide_another_active_one(events):
    withdrawn_id, active_id = uuid4(), uuid4()
    s = state(
        events.granted(CHILD, consent_id=withdrawn_id, organisations=("nhs-slt-1",)),
        events.granted(CHILD, consent_id=active_id, agencies=(Agency.SLT_SERVICE,)),
        events.withdrawn(CHILD, withdrawn_id),
        *team(events, "nhs-slt-1"),
    )
    assert decide(SLT, entry(), NOW, s).basis == f"consent:{active_id}"


def test_two_grants_under_one_id_permit_only_what_both_permit(events):
    consent_id = uuid4()
    s = state(
        events.granted(CHILD, consent_id=consent_id, agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN, Category.SLT)),
        events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",), categories=(Category.CONCERN,)),
        *team(events, "nhs-slt-1", "nhs-slt-2"),
    )
    assert decide(SLT, entry("concern"), NOW, s).permitted
    assert not decide(SLT, entry("slt"), NOW, s).permitted
    assert not decide(OTHER_SLT, entry("concern"), NOW, s).permitted


# -- rule 6: default deny, and unknown categories ------------------------------------------


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


def test_a_naive_time_is_refused_rather_than_guessed(events):
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(SLT, entry(), datetime(2025, 3, 1, 12, 0), ConsentState())
    with pytest.raises(ValueError, match="timezone-aware"):
        state(*team(events, "nhs-slt-1")).is_team_member(CHILD, "nhs-slt-1", datetime(2025, 3, 1, 12, 0))


def test_times_in_other_offsets_compare_as_the_same_instant(events):
    s = state(events.granted(CHILD, organisations=("nhs-slt-1",), valid_from=NOW), *team(events, "nhs-slt-1"))
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
    for envelope in (events.granted(CHILD, organisations=("nhs-slt-1",)), events.joined(CHILD, "nhs-slt-1"),
                     events.left(CHILD, "nhs-slt-1"), events.registered(CHILD)):
        once = ConsentState().apply(envelope)
        assert once.apply(envelope) is once
        assert ConsentState.from_events([envelope, envelope]) == once


def test_folding_is_insensitive_to_the_order_of_events(events):
    consent_id = uuid4()
    history = [
        events.registered(CHILD, "nursery-1", at=NOW - 9 * HOUR),
        events.granted(CHILD, consent_id=consent_id, organisations=("nhs-slt-1",)),
        events.joined(CHILD, "nhs-slt-1", at=NOW - 8 * HOUR),
        events.safeguarding(CHILD, "ep-1"),
        events.left(CHILD, "nhs-slt-1", at=NOW - 4 * HOUR),
        events.joined(CHILD, "nhs-slt-1", at=NOW - 2 * HOUR),
        events.withdrawn(CHILD, consent_id),
        events.expired(OTHER_CHILD, uuid4()),
    ]
    forwards = ConsentState.from_events(history)
    backwards = ConsentState()
    for envelope in reversed(history):
        backwards = backwards.apply(envelope)
    assert forwards == backwards
    assert forwards.team_members(CHILD, NOW) == backwards.team_members(CHILD, NOW) == {"nursery-1", "nhs-slt-1"}


def test_applying_an_event_leaves_the_earlier_state_unchanged(events):
    empty = ConsentState()
    grown = empty.apply(events.granted(CHILD, organisations=("nhs-slt-1",))).apply(events.joined(CHILD, "nhs-slt-1"))
    assert empty == ConsentState() and grown != empty
    assert not decide(SLT, entry(), NOW, empty).permitted
    assert decide(SLT, entry(), NOW, grown).permitted


def test_the_folded_types_are_the_consent_events_and_the_team_events():
    assert FOLDED_TYPES == {
        "tac.consent.consent_granted.v1", "tac.consent.consent_withdrawn.v1", "tac.consent.consent_expired.v1",
        "tac.consent.safeguarding_access_granted.v1", "tac.referrals.child_registered.v1",
        "tac.referrals.team_member_joined.v1", "tac.referrals.team_member_left.v1",
    }


def test_events_the_decision_does_not_read_are_ignored_by_the_fold(events):
    reminder = make_envelope(
        ConsentExpiryReminderDue(consent_id=uuid4(), expires_at=NOW), subject=CHILD, actor=SETTING_ACTOR, source="/tac/consent"
    )
    concern = make_envelope(
        ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,), summary="Few words"),
        subject=CHILD, actor=SETTING_ACTOR, source="/tac/referrals",
    )
    key_person = make_envelope(KeyPersonNamed(key_person_id="kp-1"), subject=CHILD, actor=SETTING_ACTOR,
                               source="/tac/referrals")
    ignored = [reminder, concern, key_person, events.invited(CHILD, "westshire-inclusion"),
               events.invitation_declined(CHILD, "westshire-inclusion")]
    assert not any(e.type in FOLDED_TYPES for e in ignored)
    assert ConsentState.from_events(ignored) == ConsentState()
    s = ConsentState()
    for e in ignored:
        s = s.apply(e)
    assert s == ConsentState()


def test_folding_a_bare_payload_is_refused_because_it_does_not_say_which_child(events):
    with pytest.raises(TypeError, match="envelope"):
        ConsentState().apply(events.granted(CHILD, organisations=("nhs-slt-1",)).data)
    with pytest.raises(TypeError, match="envelope"):
        ConsentState().apply(events.joined(CHILD, "nhs-slt-1").data)


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
