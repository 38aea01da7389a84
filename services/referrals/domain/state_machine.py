"""The lifecycles of a referral and of the other pieces of casework this service tracks.

Pure: no framework imports. A transition that the current state does not allow raises
`IllegalTransition`, whose message names the current state so that the API can answer
409 with something a practitioner can act on ("referral is declined; cannot accept").

Referral (DESIGN §2: ReferralMade / Accepted / Declined / Withdrawn / Closed):

    made ──accept──▶ accepted ──close──▶ closed
      │ └─decline──▶ declined              ▲ (terminal states: declined, withdrawn, closed)
      └──withdraw──▶ withdrawn ◀─withdraw──┘ (from accepted)

A referral can be withdrawn by the referrer while it is waiting or while it is being worked
on (the family may move, or the need may be met), but not once it has been decided or closed.

EHC needs assessment (SEND Regulations 2014, regs 3-13):

    requested ──start──▶ started ──issue_draft──▶ draft_issued ──finalise──▶ finalised
        └──decline──▶ declined

Integrated review (EYFS progress check at two + HCP 2-2½ year review): scheduled → completed.
Transition to school: planned → completed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class IllegalTransition(Exception):
    """`action` is not allowed from `current`; the message names the current state."""

    def __init__(self, subject: str, current: str, action: str):
        self.subject = subject
        self.current = current
        self.action = action
        super().__init__(f"{subject} is {current}; cannot {action.replace('_', ' ')}")


class ReferralState(StrEnum):
    MADE = "made"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


class ReferralAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    CLOSE = "close"


class EHCState(StrEnum):
    REQUESTED = "requested"
    STARTED = "started"
    DECLINED = "declined"
    DRAFT_ISSUED = "draft_issued"
    FINALISED = "finalised"


class EHCAction(StrEnum):
    START = "start"
    DECLINE = "decline"
    REQUEST_ADVICE = "request_advice"
    ISSUE_DRAFT = "issue_draft"
    FINALISE = "finalise"


class ReviewState(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"


class ReviewAction(StrEnum):
    COMPLETE = "complete"


class TransitionState(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"


class TransitionAction(StrEnum):
    COMPLETE = "complete"


@dataclass(frozen=True)
class Machine:
    """A finite state machine as a table: (state, action) -> next state."""

    subject: str
    table: Mapping[tuple[str, str], str]

    def next(self, current: str, action: str) -> str:
        try:
            return str(self.table[(str(current), str(action))])
        except KeyError:
            raise IllegalTransition(self.subject, str(current), str(action)) from None

    def allowed(self, current: str) -> frozenset[str]:
        return frozenset(a for (s, a) in self.table if s == str(current))

    def is_terminal(self, state: str) -> bool:
        return not self.allowed(state)

    @classmethod
    def by_state(cls, subject: str, moves: Mapping[str, Mapping[str, str]]) -> Machine:
        """The machine written as what each state allows: {state: {action: next state}}."""
        return cls(subject, {(state, action): after for state, allowed in moves.items() for action, after in allowed.items()})


R, RA = ReferralState, ReferralAction
REFERRAL = Machine.by_state("referral", {
    R.MADE: {RA.ACCEPT: R.ACCEPTED, RA.DECLINE: R.DECLINED, RA.WITHDRAW: R.WITHDRAWN},
    R.ACCEPTED: {RA.CLOSE: R.CLOSED, RA.WITHDRAW: R.WITHDRAWN},
})

E, EA = EHCState, EHCAction
EHC_ASSESSMENT = Machine.by_state("EHC needs assessment", {
    E.REQUESTED: {EA.START: E.STARTED, EA.DECLINE: E.DECLINED},
    # Advice is sought during the assessment (reg. 6) and may still be sought after a draft,
    # e.g. when the draft shows a gap; asking does not change the state.
    E.STARTED: {EA.REQUEST_ADVICE: E.STARTED, EA.ISSUE_DRAFT: E.DRAFT_ISSUED},
    E.DRAFT_ISSUED: {EA.REQUEST_ADVICE: E.DRAFT_ISSUED, EA.FINALISE: E.FINALISED},
})

INTEGRATED_REVIEW = Machine.by_state(
    "integrated review", {ReviewState.SCHEDULED: {ReviewAction.COMPLETE: ReviewState.COMPLETED}}
)

TRANSITION = Machine.by_state(
    "transition to school", {TransitionState.PLANNED: {TransitionAction.COMPLETE: TransitionState.COMPLETED}}
)

OPEN_REFERRAL_STATES = frozenset({ReferralState.MADE, ReferralState.ACCEPTED})
OPEN_EHC_STATES = frozenset({EHCState.REQUESTED, EHCState.STARTED, EHCState.DRAFT_ISSUED})
