"""Caseloads (DESIGN §4): open work assigned to the caller's organisation, with days waiting,
the next action and the next statutory or target due date, overdue first. Pure.

The store hands over plain records; this module decides what is due, what is overdue and in
which order a practitioner should see them. "Today" is always passed in (the API takes it from
an injectable clock) and is a UTC date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from schemas.events.referrals import DueDate
from schemas.vocabulary import Reg10_4Exception
from services.referrals.domain import clock
from services.referrals.domain.state_machine import EHCState, ReferralState

KINDS = ("referral", "advice", "ehc", "integrated_review")


@dataclass(frozen=True)
class OpenReferral:
    referral_id: UUID
    child_id: UUID
    child_name: str
    state: str
    made_on: date
    to_agency: str


@dataclass(frozen=True)
class OpenAdviceRequest:
    advice_id: UUID
    request_id: UUID
    child_id: UUID
    child_name: str
    requested_on: date
    due_on: date


@dataclass(frozen=True)
class OpenAssessment:
    request_id: UUID
    child_id: UUID
    child_name: str
    state: str
    requested_on: date
    exceptions: tuple[Reg10_4Exception, ...] = ()


@dataclass(frozen=True)
class OpenReview:
    review_id: UUID
    child_id: UUID
    child_name: str
    recorded_on: date
    scheduled_for: date


@dataclass(frozen=True)
class CaseloadItem:
    kind: str
    id: UUID
    child_id: UUID
    child_name: str
    state: str
    since: date
    days_waiting: int
    next_action: str
    next_due: DueDate | None
    overdue: bool
    days_overdue: int
    excused_by: tuple[Reg10_4Exception, ...] = ()


def _item(kind: str, id: UUID, child_id: UUID, name: str, state: str, since: date, today: date,
          action: str, due: DueDate | None, exceptions: Iterable[Reg10_4Exception] = ()) -> CaseloadItem:
    st = clock.status(due, today, exceptions) if due else None
    return CaseloadItem(
        kind=kind, id=id, child_id=child_id, child_name=name, state=state, since=since,
        days_waiting=clock.days_waiting(since, today), next_action=action, next_due=due,
        overdue=bool(st and st.overdue), days_overdue=st.days_overdue if st else 0,
        excused_by=st.excused_by if st else (),
    )


def referral_item(r: OpenReferral, today: date, targets: clock.WaitingTargets) -> CaseloadItem:
    action = "accept or decline the referral" if r.state == ReferralState.MADE else "provide the service, then close the referral with its outcome"
    return _item("referral", r.referral_id, r.child_id, r.child_name, r.state, r.made_on, today, action,
                 targets.due(r.to_agency, r.made_on))


def advice_item(a: OpenAdviceRequest, today: date) -> CaseloadItem:
    due = clock.ehc_advice_due(a.requested_on)
    if due.due_on != a.due_on:  # the request carried its own date; trust what was asked
        due = DueDate(kind=due.kind, due_on=a.due_on, reference=due.reference)
    return _item("advice", a.advice_id, a.child_id, a.child_name, "requested", a.requested_on, today,
                 "submit EHC advice and information", due)


_EHC_NEXT = {
    EHCState.REQUESTED: ("decide whether to carry out an EHC needs assessment", clock.EHC_DECISION),
    EHCState.STARTED: ("issue a draft EHC plan, or tell the parent no plan will be issued", clock.EHC_NO_PLAN_NOTICE),
    EHCState.DRAFT_ISSUED: ("finalise the EHC plan", clock.EHC_FINAL_PLAN),
}


def ehc_item(e: OpenAssessment, today: date) -> CaseloadItem:
    action, kind = _EHC_NEXT[EHCState(e.state)]
    due = next(d for d in clock.ehc_due_dates(e.requested_on) if d.kind == kind)
    return _item("ehc", e.request_id, e.child_id, e.child_name, e.state, e.requested_on, today, action, due, e.exceptions)


def review_item(r: OpenReview, today: date) -> CaseloadItem:
    due = DueDate(kind="integrated_review_scheduled", due_on=r.scheduled_for,
                  reference="Date agreed for the integrated review (EYFS progress check at two + HCP review)")
    return _item("integrated_review", r.review_id, r.child_id, r.child_name, "scheduled", r.recorded_on, today,
                 "complete the integrated review and record the outcome per prime area", due)


def sort_key(item: CaseloadItem) -> tuple:
    """Overdue first, then the nearest due date, then the longest wait."""
    return (not item.overdue, item.next_due.due_on if item.next_due else date.max, -item.days_waiting, str(item.id))


@dataclass(frozen=True)
class Page:
    items: tuple[CaseloadItem, ...]
    total: int
    limit: int
    offset: int


def page(items: Iterable[CaseloadItem], *, kind: str | None = None, overdue_only: bool = False,
         limit: int = 50, offset: int = 0) -> Page:
    chosen = [i for i in items if (kind is None or i.kind == kind) and (not overdue_only or i.overdue)]
    chosen.sort(key=sort_key)
    return Page(items=tuple(chosen[offset: offset + limit]), total=len(chosen), limit=limit, offset=offset)


# --- health visitors: children approaching or inside the integrated review window -------------


@dataclass(frozen=True)
class ReviewWatchInput:
    child_id: UUID
    child_name: str
    date_of_birth: date
    completed_on: date | None
    scheduled_for: date | None


@dataclass(frozen=True)
class ReviewWatchItem:
    child_id: UUID
    child_name: str
    phase: str
    age_months: int
    window_opens: date
    hcp_due: DueDate
    eyfs_due: DueDate
    scheduled_for: date | None
    completed_on: date | None
    done: bool
    overdue: bool


_PHASE_ORDER = {clock.ReviewPhase.OVERDUE: 0, clock.ReviewPhase.HCP_OVERDUE: 1, clock.ReviewPhase.IN_WINDOW: 2,
                clock.ReviewPhase.APPROACHING: 3, clock.ReviewPhase.DONE: 4}


def review_watch(children: Sequence[ReviewWatchInput], today: date) -> list[ReviewWatchItem]:
    """Children from 23 months (approaching: clock.REVIEW_APPROACHING_MONTHS) until they are 36
    months old, and after that only while the review is still not done and the child has not
    started school. Who may see which child is decided before (services.referrals.service_layer.caseloads)."""
    out = []
    for c in children:
        if today < clock.age_reached(c.date_of_birth, clock.REVIEW_APPROACHING_MONTHS):
            continue
        phase = clock.integrated_review_phase(c.date_of_birth, today, c.completed_on is not None)
        if today >= clock.age_reached(c.date_of_birth, 36) and (c.completed_on is not None or today >= clock.reception_start(c.date_of_birth)):
            continue
        dates = {d.kind: d for d in clock.integrated_review_dates(c.date_of_birth)}
        out.append(ReviewWatchItem(
            child_id=c.child_id, child_name=c.child_name, phase=phase,
            age_months=clock.age_in_months(c.date_of_birth, today),
            window_opens=dates[clock.INTEGRATED_REVIEW_WINDOW_OPENS].due_on,
            hcp_due=dates[clock.HCP_REVIEW], eyfs_due=dates[clock.PROGRESS_CHECK_AT_TWO],
            scheduled_for=c.scheduled_for, completed_on=c.completed_on, done=c.completed_on is not None,
            overdue=phase in (clock.ReviewPhase.OVERDUE, clock.ReviewPhase.HCP_OVERDUE),
        ))
    out.sort(key=lambda i: (_PHASE_ORDER[i.phase], i.hcp_due.due_on, str(i.child_id)))
    return out

