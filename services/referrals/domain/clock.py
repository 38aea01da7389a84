"""The statutory clock (DESIGN §5): every due date TAC tracks, computed from dates alone.

Pure: dates in, `DueDate`s out, each with the regulation or guidance it comes from, so that
other services can remind people without ever seeing the child's date of birth.

Conventions (tested in tests/unit/referrals/test_clock.py):

* A `DueDate.due_on` is the LAST day on which the thing is on time; it is overdue from the
  next day (`is_overdue(due, today)` is `today > due.due_on`).
* "Within N weeks of X" is X + 7·N days (SEND Regulations 2014 count periods from the day
  the request is received; week arithmetic is the same across month and year ends).
* Ages: a child reaches the age of N months on the same day of the month N months after
  birth; where that month has no such day (a 29 February birthday in a common year, the
  31st in a 30-day month), on the first day of the following month. This is the usual
  reading in England for people born on 29 February (their birthday in a common year is
  taken as 1 March) and we apply the same rule to every short month.
* Reg. 10(4) exceptions (setting closed 4+ weeks, exceptional personal circumstances, family
  away 4+ weeks) excuse a missed EHC date; they are recorded and SHOWN beside the date by
  `status()`, and never move a date or clear an overdue flag.

Longer than the ~250 lines a module aims for, on purpose: it is the one table of statutory
dates, each beside the regulation it comes from; split, a date and the rule it shares a
threshold with (REVIEW_APPROACHING_MONTHS) would sit in two files.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from schemas.events.referrals import DueDate
from schemas.vocabulary import Agency, Reg10_4Exception

# --- kinds (stable strings: other services key reminders on them) --------------------------

INTEGRATED_REVIEW_REMINDER = "integrated_review_reminder"
INTEGRATED_REVIEW_WINDOW_OPENS = "integrated_review_window_opens"
HCP_REVIEW = "hcp_two_year_review"
PROGRESS_CHECK_AT_TWO = "eyfs_progress_check_at_two"
TRANSITION_PLANNING_STARTS = "transition_planning_starts"
RECEPTION_PLACE = "reception_place_from"
EHC_DECISION = "ehc_decision_to_assess"
EHC_NO_PLAN_NOTICE = "ehc_notice_if_no_plan"
EHC_FINAL_PLAN = "ehc_final_plan"
EHC_ADVICE = "ehc_advice"
EHC_DRAFT_COMMENTS = "ehc_draft_plan_comments"
CONSENT_EXPIRY_REMINDER = "consent_expiry_reminder"
REFERRAL_WAITING_TARGET = "referral_waiting_target"

# --- references ----------------------------------------------------------------------------

REF_EHC_DECISION = "SEND Regulations 2014 reg. 5(1): decide whether to assess within 6 weeks of the request"
REF_EHC_ADVICE = "SEND Regulations 2014 reg. 8(1): advice and information within 6 weeks of being asked"
REF_EHC_NO_PLAN = "SEND Regulations 2014 reg. 10(1): tell the parent within 16 weeks of the request if no EHC plan will be issued"
REF_EHC_DRAFT = "SEND Regulations 2014 reg. 13(1): at least 15 days for the parent to comment on the draft plan"
REF_EHC_FINAL = "SEND Regulations 2014 reg. 13(2): final EHC plan within 20 weeks of the request"
REF_IR_REMINDER = "EYFS progress check at two / HCP 2-2½ year review: remind health visitor and setting one month before the window opens"
REF_IR_WINDOW = "EYFS statutory framework, progress check at age two: between 24 and 36 months, combined with the HCP review where possible"
REF_HCP = "Healthy Child Programme 0-5: health and development review at 2 to 2½ years (overdue from 30 months)"
REF_EYFS = "EYFS statutory framework, progress check at age two: when the child is aged between two and three (overdue from 36 months)"
REF_TRANSITION = "SEND Code of Practice 0-25 (2015) para 5.47: plan and prepare transition before the move; from the spring term (1 January) before reception"
REF_RECEPTION = "School Admissions Code 2021 para 2.16: a place from the September following the child's fourth birthday"
REF_CONSENT = "Consent is reviewed yearly (DESIGN §3, §5): remind 30 days before it expires"

EHC_DECISION_WEEKS = 6  # reg. 5(1)
EHC_ADVICE_WEEKS = 6  # reg. 8(1)
EHC_NO_PLAN_WEEKS = 16  # reg. 10(1)
EHC_FINAL_PLAN_WEEKS = 20  # reg. 13(2)
EHC_DRAFT_COMMENT_DAYS = 15  # reg. 13(1)
CONSENT_REMINDER_DAYS = 30

# Reg. 10(4) excuses the 16-week notice; reg. 13(3) applies the same exceptions to the
# 20-week final plan; reg. 5(4) has the same list for the 6-week decision.
EXCUSABLE_BY_REG_10_4 = frozenset({EHC_DECISION, EHC_NO_PLAN_NOTICE, EHC_FINAL_PLAN})

# --- ages ----------------------------------------------------------------------------------


def age_reached(date_of_birth: date, months: int) -> date:
    """The day a child born on `date_of_birth` reaches the age of `months` months."""
    if months < 0:
        raise ValueError("months must be >= 0")
    index = date_of_birth.month - 1 + months
    year, month = date_of_birth.year + index // 12, index % 12 + 1
    if date_of_birth.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, date_of_birth.day)
    # No such day in that month (29 Feb in a common year, 31 in a 30-day month): the age is
    # reached when that month is over.
    return date(year, month, calendar.monthrange(year, month)[1]) + timedelta(days=1)


def age_in_months(date_of_birth: date, on: date) -> int:
    """Completed months of age on `on` (consistent with `age_reached`)."""
    if on < date_of_birth:
        return -1
    months = (on.year - date_of_birth.year) * 12 + (on.month - date_of_birth.month)
    while months > 0 and age_reached(date_of_birth, months) > on:
        months -= 1
    return months


def _weeks(start: date, weeks: int) -> date:
    return start + timedelta(weeks=weeks)


# --- the child's own calendar (carried by ChildRegistered) ----------------------------------


def integrated_review_dates(date_of_birth: date) -> tuple[DueDate, ...]:
    return (
        DueDate(kind=INTEGRATED_REVIEW_REMINDER, due_on=age_reached(date_of_birth, 23), reference=REF_IR_REMINDER),
        DueDate(kind=INTEGRATED_REVIEW_WINDOW_OPENS, due_on=age_reached(date_of_birth, 24), reference=REF_IR_WINDOW),
        DueDate(kind=HCP_REVIEW, due_on=age_reached(date_of_birth, 30) - timedelta(days=1), reference=REF_HCP),
        DueDate(kind=PROGRESS_CHECK_AT_TWO, due_on=age_reached(date_of_birth, 36) - timedelta(days=1), reference=REF_EYFS),
    )


def reception_start(date_of_birth: date) -> date:
    """1 September following the fourth birthday (School Admissions Code 2021 para 2.16).

    A child whose fourth birthday falls on 1 September or later in the year starts the
    following year: born 31 August 2020 → September 2024; born 1 September 2020 → 2025."""
    fourth = age_reached(date_of_birth, 48)
    year = fourth.year if fourth.month < 9 else fourth.year + 1
    return date(year, 9, 1)


REF_CASEWORK_END = ("Education Act 1996 s.8 (compulsory school age from the term after the fifth birthday) and "
                    "School Admissions Code 2021 para 2.17 (entry may be deferred until then): TAC's casework ends "
                    "by the 1 September following the fifth birthday")


def casework_ends(date_of_birth: date) -> date:
    """The last day a date of a child's early-years casework may fall on: the 1 September
    following the fifth birthday, by which every child has started school (REF_CASEWORK_END)."""
    fifth = age_reached(date_of_birth, 60)
    year = fifth.year if fifth.month < 9 else fifth.year + 1
    return date(year, 9, 1)


def transition_planning_start(date_of_birth: date) -> date:
    # The spring term begins in January; we take 1 January of the reception year, which also
    # leaves time before the national closing date for primary applications (15 January).
    return date(reception_start(date_of_birth).year, 1, 1)


def school_dates(date_of_birth: date) -> tuple[DueDate, ...]:
    return (
        DueDate(kind=TRANSITION_PLANNING_STARTS, due_on=transition_planning_start(date_of_birth), reference=REF_TRANSITION),
        DueDate(kind=RECEPTION_PLACE, due_on=reception_start(date_of_birth), reference=REF_RECEPTION),
    )


def child_due_dates(date_of_birth: date) -> tuple[DueDate, ...]:
    """Every date derived from the date of birth, in date order. Shown to the child's setting
    and parents (GET /children/{id}) and NEVER put on the bus: any of them gives the date of
    birth away (ChildRegistered carries none; IntegratedReviewWindowOpened is announced on the
    day instead)."""
    return tuple(sorted(integrated_review_dates(date_of_birth) + school_dates(date_of_birth), key=lambda d: d.due_on))


# --- EHC needs assessment ------------------------------------------------------------------


def ehc_due_dates(requested_on: date) -> tuple[DueDate, ...]:
    """The dates that run from the day the LA received the request (EHCAssessmentRequested)."""
    return (
        DueDate(kind=EHC_DECISION, due_on=_weeks(requested_on, EHC_DECISION_WEEKS), reference=REF_EHC_DECISION),
        DueDate(kind=EHC_NO_PLAN_NOTICE, due_on=_weeks(requested_on, EHC_NO_PLAN_WEEKS), reference=REF_EHC_NO_PLAN),
        DueDate(kind=EHC_FINAL_PLAN, due_on=_weeks(requested_on, EHC_FINAL_PLAN_WEEKS), reference=REF_EHC_FINAL),
    )


def ehc_advice_due(asked_on: date) -> DueDate:
    return DueDate(kind=EHC_ADVICE, due_on=_weeks(asked_on, EHC_ADVICE_WEEKS), reference=REF_EHC_ADVICE)


def draft_comments_due(issued_on: date) -> DueDate:
    # "At least 15 days, beginning on the day the draft was served": we give the parent
    # until issued_on + 15, a day more than the minimum rather than a day less.
    return DueDate(kind=EHC_DRAFT_COMMENTS, due_on=issued_on + timedelta(days=EHC_DRAFT_COMMENT_DAYS), reference=REF_EHC_DRAFT)


# --- consent ---------------------------------------------------------------------------------


def consent_reminder(expires_at: datetime) -> DueDate:
    """The day to remind the team and the family that a consent will lapse (UTC date)."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expiry_day = expires_at.astimezone(timezone.utc).date()
    return DueDate(kind=CONSENT_EXPIRY_REMINDER, due_on=expiry_day - timedelta(days=CONSENT_REMINDER_DAYS), reference=REF_CONSENT)


# --- referral waiting times ------------------------------------------------------------------

# Local service standards, not statute: each is configuration (TAC_REFERRALS_WAITING_TARGETS).
# SLT uses the NHS 18-week referral-to-treatment standard as its default.
DEFAULT_WAITING_TARGET_DAYS: Mapping[str, int] = {
    Agency.AREA_SENCO: 28,
    Agency.EP_SERVICE: 42,
    Agency.SLT_SERVICE: 126,
    Agency.HEALTH_VISITING: 14,
    Agency.CHILDRENS_CENTRE: 14,
    Agency.LA_SEN_TEAM: 42,
    Agency.SCHOOL: 28,
    Agency.SETTING: 28,
}


@dataclass(frozen=True)
class WaitingTargets:
    days_by_agency: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WAITING_TARGET_DAYS))
    default_days: int = 42

    def days_for(self, agency: str) -> int:
        return int(self.days_by_agency.get(str(agency), self.default_days))

    def due(self, agency: str, made_on: date) -> DueDate:
        days = self.days_for(agency)
        return DueDate(
            kind=REFERRAL_WAITING_TARGET,
            due_on=made_on + timedelta(days=days),
            reference=f"Local waiting-time target for {agency}: {days} days from referral (configurable)",
        )


def days_waiting(since: date, today: date) -> int:
    """Whole days from `since` to `today` (0 on the day itself; never negative)."""
    return max(0, (today - since).days)


# --- status ----------------------------------------------------------------------------------


def is_overdue(due: DueDate, today: date) -> bool:
    return today > due.due_on


@dataclass(frozen=True)
class DueStatus:
    due: DueDate
    overdue: bool
    days_overdue: int
    excused_by: tuple[Reg10_4Exception, ...] = ()


def status(due: DueDate, today: date, exceptions: Iterable[Reg10_4Exception] = ()) -> DueStatus:
    """Overdue or not, and the reg. 10(4) exceptions recorded against this date (shown, never
    applied: an excused date is still overdue)."""
    overdue = is_overdue(due, today)
    excused = tuple(exceptions) if due.kind in EXCUSABLE_BY_REG_10_4 else ()
    return DueStatus(due=due, overdue=overdue, days_overdue=max(0, (today - due.due_on).days), excused_by=excused)


# --- integrated review phase (health visitor caseload) --------------------------------------

# DESIGN §5: "remind the health visitor and the setting as the child nears 24 months". One
# month ahead (REF_IR_REMINDER) is the moment the review list starts showing a child as
# "approaching" and the day IntegratedReviewWindowOpened is announced: one threshold for both.
REVIEW_APPROACHING_MONTHS = 23


class ReviewPhase:
    NOT_YET = "not_yet"
    APPROACHING = "approaching"  # from 23 months
    IN_WINDOW = "in_window"  # 24 months up to 30 months
    HCP_OVERDUE = "hcp_overdue"  # 30 months and not done (EYFS check still possible until 36)
    OVERDUE = "overdue"  # 36 months and not done
    DONE = "done"


def integrated_review_phase(date_of_birth: date, today: date, completed: bool) -> str:
    if completed:
        return ReviewPhase.DONE
    if today < age_reached(date_of_birth, 23):
        return ReviewPhase.NOT_YET
    if today < age_reached(date_of_birth, 24):
        return ReviewPhase.APPROACHING
    if today < age_reached(date_of_birth, 30):
        return ReviewPhase.IN_WINDOW
    if today < age_reached(date_of_birth, 36):
        return ReviewPhase.HCP_OVERDUE
    return ReviewPhase.OVERDUE


def review_window_announced(date_of_birth: date, today: date) -> bool:
    """Whether IntegratedReviewWindowOpened is owed for this child by `today`: from 23 months,
    until the child has started school (after that the review is moot, and the review list no
    longer shows the child either)."""
    return age_reached(date_of_birth, REVIEW_APPROACHING_MONTHS) <= today < reception_start(date_of_birth)


# --- date-of-birth bounds (so the store can filter children by age in SQL) ------------------


def latest_birth_date_reaching(months: int, on: date) -> date:
    """The latest date of birth of a child who is at least `months` months old on `on`:
    `age_reached(dob, months) <= on` exactly when `dob <= latest_birth_date_reaching(months, on)`
    (age_reached never decreases as the date of birth moves later)."""
    index = on.year * 12 + on.month - 1 - months
    year, month = divmod(index, 12)
    guess = date(year, month + 1, min(on.day, calendar.monthrange(year, month + 1)[1]))
    while age_reached(guess + timedelta(days=1), months) <= on:
        guess += timedelta(days=1)
    while age_reached(guess, months) > on:
        guess -= timedelta(days=1)
    return guess


def latest_birth_date_at_school(today: date) -> date:
    """The latest date of birth of a child whose reception place has started by `today`:
    `reception_start(dob) <= today` exactly when `dob <= latest_birth_date_at_school(today)`."""
    # The latest 1 September on or before today; children whose fourth birthday came before it
    # started school then (School Admissions Code 2021 para 2.16).
    september = date(today.year if today >= date(today.year, 9, 1) else today.year - 1, 9, 1)
    return latest_birth_date_reaching(48, september - timedelta(days=1))
