"""The statutory clock (DESIGN §5): every due date, with leap years, month ends, year ends and
the September cut-off. Expected dates are worked out by hand, not by the code under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from schemas.vocabulary import Reg10_4Exception
from services.referrals.domain import clock

D = date

# --- ages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "months", "reached"),
    [
        (D(2023, 5, 14), 0, D(2023, 5, 14)),
        (D(2023, 5, 14), 24, D(2025, 5, 14)),
        (D(2023, 11, 30), 3, D(2024, 2, 29) + timedelta(days=1)),  # no 30 Feb: 1 March 2024
        (D(2024, 1, 31), 1, D(2024, 3, 1)),  # no 31 Feb 2024 (leap year): 1 March
        (D(2023, 1, 31), 1, D(2023, 3, 1)),  # no 29-31 Feb 2023: 1 March
        (D(2024, 1, 29), 1, D(2024, 2, 29)),  # 29 Feb exists in 2024
        (D(2023, 1, 29), 1, D(2023, 3, 1)),
        (D(2024, 3, 31), 1, D(2024, 5, 1)),  # no 31 April
        (D(2024, 8, 31), 1, D(2024, 9, 30) + timedelta(days=1)),  # no 31 September
        (D(2024, 12, 31), 1, D(2025, 1, 31)),  # across a year end
        (D(2024, 11, 15), 2, D(2025, 1, 15)),
        (D(2024, 2, 29), 12, D(2025, 3, 1)),  # leapling: birthday in a common year is 1 March
        (D(2024, 2, 29), 48, D(2028, 2, 29)),  # ...and 29 Feb in a leap year
        (D(2024, 2, 29), 24, D(2026, 3, 1)),
    ],
)
def test_a_child_reaches_an_age_on_the_same_day_or_the_first_of_the_next_month(born, months, reached):
    assert clock.age_reached(born, months) == reached


def test_a_negative_age_is_refused():
    with pytest.raises(ValueError):
        clock.age_reached(D(2024, 1, 1), -1)


@pytest.mark.parametrize(
    ("born", "on", "months"),
    [
        (D(2023, 5, 14), D(2025, 5, 13), 23),
        (D(2023, 5, 14), D(2025, 5, 14), 24),
        (D(2024, 2, 29), D(2026, 2, 28), 23),
        (D(2024, 2, 29), D(2026, 3, 1), 24),
        (D(2023, 1, 31), D(2023, 2, 28), 0),
        (D(2023, 1, 31), D(2023, 3, 1), 1),
        (D(2023, 1, 31), D(2023, 1, 30), -1),
    ],
)
def test_age_in_completed_months_agrees_with_when_an_age_is_reached(born, on, months):
    assert clock.age_in_months(born, on) == months


# --- integrated review ------------------------------------------------------------------------


def _by_kind(dues):
    return {d.kind: d for d in dues}


def test_the_integrated_review_dates_of_an_ordinary_birthday():
    dates = _by_kind(clock.integrated_review_dates(D(2023, 6, 10)))
    assert dates[clock.INTEGRATED_REVIEW_REMINDER].due_on == D(2025, 5, 10)  # 23 months
    assert dates[clock.INTEGRATED_REVIEW_WINDOW_OPENS].due_on == D(2025, 6, 10)  # 24 months
    assert dates[clock.HCP_REVIEW].due_on == D(2025, 12, 9)  # last day before 30 months
    assert dates[clock.PROGRESS_CHECK_AT_TWO].due_on == D(2026, 6, 9)  # last day before 36 months


def test_the_integrated_review_dates_of_a_child_born_on_29_february():
    dates = _by_kind(clock.integrated_review_dates(D(2024, 2, 29)))
    assert dates[clock.INTEGRATED_REVIEW_REMINDER].due_on == D(2026, 1, 29)
    assert dates[clock.INTEGRATED_REVIEW_WINDOW_OPENS].due_on == D(2026, 3, 1)  # no 29 Feb 2026
    assert dates[clock.HCP_REVIEW].due_on == D(2026, 8, 28)  # 30 months = 29 Aug 2026
    assert dates[clock.PROGRESS_CHECK_AT_TWO].due_on == D(2027, 2, 28)  # 36 months = 1 Mar 2027


def test_the_integrated_review_dates_of_a_child_born_at_a_month_end():
    dates = _by_kind(clock.integrated_review_dates(D(2022, 8, 31)))
    assert dates[clock.INTEGRATED_REVIEW_REMINDER].due_on == D(2024, 7, 31)
    assert dates[clock.INTEGRATED_REVIEW_WINDOW_OPENS].due_on == D(2024, 8, 31)
    # 30 months would be 31 February 2025: the age is reached on 1 March, so due by 28 Feb.
    assert dates[clock.HCP_REVIEW].due_on == D(2025, 2, 28)
    assert dates[clock.PROGRESS_CHECK_AT_TWO].due_on == D(2025, 8, 30)


def test_the_hcp_review_is_flagged_overdue_from_30_months_and_the_eyfs_check_from_36():
    born = D(2023, 6, 10)
    dates = _by_kind(clock.integrated_review_dates(born))
    assert not clock.is_overdue(dates[clock.HCP_REVIEW], D(2025, 12, 9))
    assert clock.is_overdue(dates[clock.HCP_REVIEW], D(2025, 12, 10))  # 30 months old
    assert not clock.is_overdue(dates[clock.PROGRESS_CHECK_AT_TWO], D(2026, 6, 9))
    assert clock.is_overdue(dates[clock.PROGRESS_CHECK_AT_TWO], D(2026, 6, 10))  # 36 months old


@pytest.mark.parametrize(
    ("today", "completed", "phase"),
    [
        (D(2025, 5, 9), False, "not_yet"),
        (D(2025, 5, 10), False, "approaching"),  # 23 months
        (D(2025, 6, 9), False, "approaching"),
        (D(2025, 6, 10), False, "in_window"),  # 24 months
        (D(2025, 12, 9), False, "in_window"),
        (D(2025, 12, 10), False, "hcp_overdue"),  # 30 months
        (D(2026, 6, 9), False, "hcp_overdue"),
        (D(2026, 6, 10), False, "overdue"),  # 36 months
        (D(2026, 6, 10), True, "done"),
    ],
)
def test_the_phase_of_the_integrated_review_follows_the_childs_age(today, completed, phase):
    assert clock.integrated_review_phase(D(2023, 6, 10), today, completed) == phase


# --- school ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "reception"),
    [
        (D(2020, 8, 31), D(2024, 9, 1)),  # 4 on 31 Aug 2024: the September straight after
        (D(2020, 9, 1), D(2025, 9, 1)),  # 4 on 1 Sep 2024: the following September
        (D(2020, 9, 2), D(2025, 9, 1)),
        (D(2020, 1, 1), D(2024, 9, 1)),
        (D(2019, 12, 31), D(2024, 9, 1)),
        (D(2020, 2, 29), D(2024, 9, 1)),  # leapling, 4 on 29 Feb 2024
        (D(2021, 2, 28), D(2025, 9, 1)),
        (D(2021, 8, 31), D(2025, 9, 1)),
        (D(2021, 9, 1), D(2026, 9, 1)),
    ],
)
def test_a_reception_place_is_from_the_september_following_the_fourth_birthday(born, reception):
    assert clock.reception_start(born) == reception


def test_transition_planning_starts_on_1_january_before_reception():
    assert clock.transition_planning_start(D(2020, 8, 31)) == D(2024, 1, 1)
    assert clock.transition_planning_start(D(2020, 9, 1)) == D(2025, 1, 1)


def test_the_school_dates_cite_the_admissions_code_and_the_code_of_practice():
    dates = _by_kind(clock.school_dates(D(2020, 8, 31)))
    assert "School Admissions Code 2021 para 2.16" in dates[clock.RECEPTION_PLACE].reference
    assert "para 5.47" in dates[clock.TRANSITION_PLANNING_STARTS].reference


def test_the_childs_own_calendar_holds_every_date_derived_from_birth_in_date_order():
    dues = clock.child_due_dates(D(2023, 6, 10))
    assert [d.kind for d in dues] == [
        clock.INTEGRATED_REVIEW_REMINDER, clock.INTEGRATED_REVIEW_WINDOW_OPENS, clock.HCP_REVIEW,
        clock.PROGRESS_CHECK_AT_TWO, clock.TRANSITION_PLANNING_STARTS, clock.RECEPTION_PLACE,
    ]
    assert [d.due_on for d in dues] == sorted(d.due_on for d in dues)
    assert all(len(d.reference) <= 200 for d in dues)


# --- EHC ------------------------------------------------------------------------------------


def test_the_ehc_dates_run_6_16_and_20_weeks_from_the_request():
    dates = _by_kind(clock.ehc_due_dates(D(2025, 3, 3)))
    assert dates[clock.EHC_DECISION].due_on == D(2025, 4, 14)
    assert dates[clock.EHC_NO_PLAN_NOTICE].due_on == D(2025, 6, 23)
    assert dates[clock.EHC_FINAL_PLAN].due_on == D(2025, 7, 21)
    assert "reg. 5(1)" in dates[clock.EHC_DECISION].reference
    assert "reg. 10(1)" in dates[clock.EHC_NO_PLAN_NOTICE].reference
    assert "reg. 13(2)" in dates[clock.EHC_FINAL_PLAN].reference


def test_the_ehc_weeks_run_across_a_year_end_and_a_leap_day():
    dates = _by_kind(clock.ehc_due_dates(D(2023, 12, 20)))
    assert dates[clock.EHC_DECISION].due_on == D(2024, 1, 31)
    assert dates[clock.EHC_NO_PLAN_NOTICE].due_on == D(2024, 4, 10)  # spans 29 Feb 2024
    assert dates[clock.EHC_FINAL_PLAN].due_on == D(2024, 5, 8)


def test_ehc_advice_is_due_six_weeks_from_being_asked():
    due = clock.ehc_advice_due(D(2024, 11, 29))
    assert due.due_on == D(2025, 1, 10)
    assert "reg. 8(1)" in due.reference


def test_the_parent_has_at_least_15_days_to_comment_on_a_draft_plan():
    due = clock.draft_comments_due(D(2024, 2, 20))
    assert due.due_on == D(2024, 3, 6)  # spans 29 Feb 2024
    assert (due.due_on - D(2024, 2, 20)).days >= 15
    assert "reg. 13(1)" in due.reference


def test_a_reg_10_4_exception_is_shown_beside_a_missed_date_but_never_clears_it():
    final = _by_kind(clock.ehc_due_dates(D(2025, 3, 3)))[clock.EHC_FINAL_PLAN]
    st = clock.status(final, D(2025, 7, 25), [Reg10_4Exception.FAMILY_ABSENT_4_WEEKS])
    assert st.overdue is True
    assert st.days_overdue == 4
    assert st.excused_by == (Reg10_4Exception.FAMILY_ABSENT_4_WEEKS,)


def test_a_reg_10_4_exception_is_not_shown_against_a_date_it_cannot_excuse():
    advice = clock.ehc_advice_due(D(2025, 3, 3))
    assert clock.status(advice, D(2025, 5, 1), [Reg10_4Exception.SETTING_CLOSED_4_WEEKS]).excused_by == ()


def test_a_date_is_on_time_on_its_due_day_and_overdue_the_day_after():
    due = clock.ehc_advice_due(D(2025, 1, 6))
    assert clock.status(due, due.due_on).overdue is False
    assert clock.status(due, due.due_on + timedelta(days=1)).overdue is True
    assert clock.status(due, due.due_on - timedelta(days=3)).days_overdue == 0


# --- consent and referrals --------------------------------------------------------------------


def test_the_consent_reminder_is_30_days_before_expiry():
    due = clock.consent_reminder(datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc))
    assert due.due_on == D(2025, 1, 30)
    leap = clock.consent_reminder(datetime(2024, 3, 15, tzinfo=timezone.utc))
    assert leap.due_on == D(2024, 2, 14)


def test_the_consent_reminder_uses_the_utc_date_of_the_expiry():
    # 00:30 on 1 March in UTC+01:00 is still 28 February in UTC.
    expires = datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert clock.consent_reminder(expires).due_on == D(2025, 1, 29)


def test_a_naive_expiry_is_refused():
    with pytest.raises(ValueError):
        clock.consent_reminder(datetime(2025, 3, 1))


def test_referral_waiting_targets_are_per_agency_and_configurable():
    targets = clock.WaitingTargets()
    assert targets.due("slt_service", D(2025, 1, 1)).due_on == D(2025, 5, 7)  # 126 days
    assert targets.due("area_senco", D(2024, 12, 20)).due_on == D(2025, 1, 17)  # 28 days
    custom = clock.WaitingTargets({"ep_service": 10}, default_days=5)
    assert custom.due("ep_service", D(2025, 2, 25)).due_on == D(2025, 3, 7)
    assert custom.due("school", D(2025, 2, 25)).due_on == D(2025, 3, 2)
    assert "10 days" in custom.due("ep_service", D(2025, 2, 25)).reference


def test_days_waiting_are_whole_days_and_never_negative():
    assert clock.days_waiting(D(2024, 12, 31), D(2025, 1, 1)) == 1
    assert clock.days_waiting(D(2024, 2, 28), D(2024, 3, 1)) == 2
    assert clock.days_waiting(D(2025, 1, 1), D(2025, 1, 1)) == 0
    assert clock.days_waiting(D(2025, 1, 2), D(2025, 1, 1)) == 0


# --- date-of-birth bounds (the store filters children by age in SQL) -------------------------

DAYS = [D(2025, 1, 1), D(2025, 2, 28), D(2025, 3, 1), D(2025, 3, 31), D(2024, 2, 29), D(2024, 3, 1),
        D(2025, 6, 2), D(2025, 8, 31), D(2025, 9, 1), D(2025, 12, 31)]


@pytest.mark.parametrize("on", DAYS, ids=str)
@pytest.mark.parametrize("months", [0, 1, 23, 24, 30, 36, 48])
def test_the_latest_birth_date_of_a_child_of_an_age_bounds_exactly_the_children_that_old(on, months):
    latest = clock.latest_birth_date_reaching(months, on)
    for offset in range(-70, 70):
        born = latest + timedelta(days=offset)
        assert (born <= latest) == (clock.age_reached(born, months) <= on), born


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_the_latest_birth_date_of_a_child_at_school_bounds_exactly_the_children_at_school(today):
    latest = clock.latest_birth_date_at_school(today)
    for offset in range(-400, 400):
        born = latest + timedelta(days=offset)
        assert (born <= latest) == (clock.reception_start(born) <= today), born


def test_children_born_up_to_31_august_2021_are_at_school_from_september_2025():
    assert clock.latest_birth_date_at_school(D(2025, 9, 1)) == D(2021, 8, 31)
    assert clock.latest_birth_date_at_school(D(2025, 8, 31)) == D(2020, 8, 31)


@pytest.mark.parametrize(("born", "ends"), [
    (date(2023, 3, 15), date(2028, 9, 1)),  # fifth birthday in March: school from the September after
    (date(2023, 8, 31), date(2028, 9, 1)),  # summer-born: deferred entry at the latest then
    (date(2023, 9, 1), date(2029, 9, 1)),  # fifth birthday on 1 September: the following year's start
    (date(2020, 2, 29), date(2025, 9, 1)),
])
def test_a_childs_casework_ends_on_the_1_september_following_the_fifth_birthday(born, ends):
    assert clock.casework_ends(born) == ends
    assert "Education Act 1996 s.8" in clock.REF_CASEWORK_END
