"""Every transition of every lifecycle, legal and illegal."""

from __future__ import annotations

import itertools

import pytest

from services.referrals.domain.state_machine import (
    EHC_ASSESSMENT, INTEGRATED_REVIEW, REFERRAL, TRANSITION, EHCAction, EHCState, IllegalTransition,
    ReferralAction, ReferralState, ReviewAction, ReviewState, TransitionAction, TransitionState,
)

# Written out by hand from DESIGN §2 and the module docstring, so a wrong table fails here.
LEGAL_REFERRAL = {
    ("made", "accept"): "accepted",
    ("made", "decline"): "declined",
    ("made", "withdraw"): "withdrawn",
    ("accepted", "close"): "closed",
    ("accepted", "withdraw"): "withdrawn",
}
LEGAL_EHC = {
    ("requested", "start"): "started",
    ("requested", "decline"): "declined",
    ("started", "request_advice"): "started",
    ("draft_issued", "request_advice"): "draft_issued",
    ("started", "issue_draft"): "draft_issued",
    ("draft_issued", "finalise"): "finalised",
}


def _all_pairs(states, actions):
    return list(itertools.product([s.value for s in states], [a.value for a in actions]))


@pytest.mark.parametrize(("state", "action"), _all_pairs(ReferralState, ReferralAction))
def test_a_referral_moves_only_along_the_legal_transitions(state, action):
    if (state, action) in LEGAL_REFERRAL:
        assert REFERRAL.next(state, action) == LEGAL_REFERRAL[(state, action)]
    else:
        with pytest.raises(IllegalTransition) as raised:
            REFERRAL.next(state, action)
        assert raised.value.current == state
        assert f"referral is {state}" in str(raised.value)


@pytest.mark.parametrize(("state", "action"), _all_pairs(EHCState, EHCAction))
def test_an_ehc_assessment_moves_only_along_the_legal_transitions(state, action):
    if (state, action) in LEGAL_EHC:
        assert EHC_ASSESSMENT.next(state, action) == LEGAL_EHC[(state, action)]
    else:
        with pytest.raises(IllegalTransition, match=f"EHC needs assessment is {state}"):
            EHC_ASSESSMENT.next(state, action)


def test_an_integrated_review_is_completed_once():
    assert INTEGRATED_REVIEW.next(ReviewState.SCHEDULED, ReviewAction.COMPLETE) == "completed"
    with pytest.raises(IllegalTransition, match="integrated review is completed; cannot complete"):
        INTEGRATED_REVIEW.next(ReviewState.COMPLETED, ReviewAction.COMPLETE)


def test_a_transition_to_school_is_completed_once():
    assert TRANSITION.next(TransitionState.PLANNED, TransitionAction.COMPLETE) == "completed"
    with pytest.raises(IllegalTransition, match="transition to school is completed"):
        TRANSITION.next(TransitionState.COMPLETED, TransitionAction.COMPLETE)


def test_the_message_of_an_illegal_transition_reads_as_words():
    with pytest.raises(IllegalTransition) as raised:
        EHC_ASSESSMENT.next("requested", "issue_draft")
    assert str(raised.value) == "EHC needs assessment is requested; cannot issue draft"


@pytest.mark.parametrize("state", ["declined", "withdrawn", "closed"])
def test_decided_withdrawn_and_closed_referrals_are_terminal(state):
    assert REFERRAL.is_terminal(state)
    assert REFERRAL.allowed(state) == frozenset()


def test_a_waiting_referral_can_be_accepted_declined_or_withdrawn():
    assert REFERRAL.allowed("made") == {"accept", "decline", "withdraw"}
    assert REFERRAL.allowed("accepted") == {"close", "withdraw"}


def test_an_unknown_state_is_an_illegal_transition_not_a_crash():
    with pytest.raises(IllegalTransition, match="referral is lost; cannot accept"):
        REFERRAL.next("lost", "accept")
