"""The decision for a held child (consent_policy.holds: a message that may restrict access could
not be applied): each of the six rules of DESIGN §3 under a hold. Rules 1-3 rest on no consent
and still permit; rules 4 and 5 rest on the copy of the consent state and fail closed; rule 6
still denies. A hold on one child leaves every other child as it was; a hold on every child
(a message that could not be tied to one) closes all of them."""

from __future__ import annotations

from uuid import uuid4

from consent_policy.decision import CONSENT_STATE_HELD, decide
from consent_policy.state import ConsentState
from schemas.vocabulary import Agency, Category
from tests.unit.consent_policy.consent_builders import NOW
from tests.unit.consent_policy.test_consent_decision import (
    CHILD, EP, OTHER_CHILD, PARENT, PARENT_OF_OTHER, SETTING, SLT, entry, state, team,
)


def _consented_team(events, *, child=CHILD):
    """Everything rules 4 and 5 need: SLT on the team with consent, EP with break-glass access."""
    return [events.registered(child, "nursery-1"), events.granted(child, organisations=("nhs-slt-1",)),
            events.safeguarding(child, "ep-1"), *team(events, "nhs-slt-1", child=child)]


def test_without_a_hold_the_consent_based_rules_permit(events):
    s = state(*_consented_team(events))
    assert decide(SLT, entry(), NOW, s).code == "consent"
    assert decide(EP, entry(), NOW, s).code == "safeguarding"


def test_rule_1_a_parent_still_sees_everything_about_their_held_child():
    s = ConsentState().with_holds([CHILD])
    for category in Category:
        assert decide(PARENT, entry(category.value), NOW, s).basis == "parent"
    assert decide(PARENT_OF_OTHER, entry(), NOW, s).code == "not_parent_of_child"


def test_rule_2_an_organisation_still_sees_its_own_records_of_a_held_child():
    assert decide(SETTING, entry(author="nursery-1"), NOW, ConsentState().with_holds([CHILD])).basis == "own"


def test_rule_3_an_answer_to_the_organisations_own_request_is_still_shown():
    s = ConsentState().with_holds([CHILD])
    assert decide(SETTING, entry("referral", author="nhs-slt-1", answers="nursery-1"), NOW, s).basis == "own_request"


def test_rule_4_safeguarding_access_fails_closed_for_a_held_child(events):
    s = state(*_consented_team(events)).with_holds([CHILD])
    decision = decide(EP, entry(), NOW, s)
    assert (decision.permitted, decision.code) == (False, CONSENT_STATE_HELD)
    assert s.permitting_grants(EP, entry(), NOW) == []


def test_rule_5_consent_and_team_fail_closed_for_a_held_child(events):
    s = state(*_consented_team(events)).with_holds([CHILD])
    decision = decide(SLT, entry(author="nursery-1"), NOW, s)
    assert (decision.permitted, decision.code) == (False, CONSENT_STATE_HELD)
    # and callers that ask the state directly (the referrals service's consent checks) get none
    consent_id = next(iter(s.consent_ids_for(CHILD)))
    assert not s.is_active(consent_id, NOW) and s.covering_consent(SLT, entry(), NOW) is None


def test_rule_6_deny_by_default_still_denies_a_held_child():
    assert not decide(SLT, entry(author="nursery-1"), NOW, ConsentState().with_holds([CHILD])).permitted


def test_an_unknown_category_is_denied_to_everyone_whether_held_or_not():
    assert decide(PARENT, entry("audit"), NOW, ConsentState().with_holds([CHILD])).code == "unknown_category"


def test_a_hold_on_one_child_leaves_another_child_open(events):
    s = state(*_consented_team(events, child=OTHER_CHILD)).with_holds([CHILD])
    assert decide(SLT, entry(child=OTHER_CHILD), NOW, s).code == "consent"
    assert decide(EP, entry(child=OTHER_CHILD), NOW, s).code == "safeguarding"


def test_a_hold_on_every_child_closes_every_childs_consent_based_access(events):
    s = state(*_consented_team(events, child=OTHER_CHILD)).with_holds([], everyone=True)
    assert decide(SLT, entry(child=OTHER_CHILD), NOW, s).code == CONSENT_STATE_HELD
    assert decide(SETTING, entry(child=OTHER_CHILD, author="nursery-1"), NOW, s).basis == "own"


def test_holds_add_up_and_a_state_without_new_holds_is_the_same_state(events):
    s = state(events.granted(CHILD, agencies=(Agency.SLT_SERVICE,)))
    assert s.with_holds([]) is s
    held = s.with_holds([CHILD]).with_holds([uuid4()])
    assert held.is_held(CHILD) and held.with_holds([CHILD]) is held
    # folding more events keeps the holds
    assert held.apply(events.registered(CHILD)).is_held(CHILD)
