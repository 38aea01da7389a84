"""Caseload ordering, due dates and the health visitor's review list (pure)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from schemas.vocabulary import Reg10_4Exception
from services.referrals.domain import caseload as cl
from services.referrals.domain.clock import WaitingTargets

TODAY = date(2025, 6, 2)


def _ref(n: int, made_on: date, agency: str = "area_senco", state: str = "made") -> cl.CaseloadItem:
    return cl.referral_item(cl.OpenReferral(UUID(int=n), UUID(int=100 + n), f"Child {n}", state, made_on, agency),
                            TODAY, WaitingTargets())


def test_a_referral_waits_whole_days_against_its_agencys_target():
    item = _ref(1, date(2025, 4, 30))
    assert item.days_waiting == 33 and item.next_due.due_on == date(2025, 5, 28)
    assert item.overdue and item.days_overdue == 5
    assert item.next_action == "accept or decline the referral"
    assert not _ref(2, date(2025, 5, 5)).overdue  # due 2 June: on time today
    assert "close" in _ref(3, date(2025, 5, 5), state="accepted").next_action


def test_overdue_work_comes_first_then_the_nearest_due_date_then_the_longest_wait():
    items = [_ref(1, date(2025, 5, 20)), _ref(2, date(2025, 3, 1)), _ref(3, date(2025, 4, 1)),
             _ref(4, date(2025, 5, 30)), _ref(5, date(2025, 5, 1), agency="slt_service")]
    page = cl.page(items)
    assert [i.id.int for i in page.items] == [2, 3, 1, 4, 5]
    assert cl.page(items, overdue_only=True).total == 2
    assert [i.id.int for i in cl.page(items, limit=2, offset=2).items] == [1, 4]


def test_an_ehc_assessment_is_due_against_the_date_of_its_current_stage():
    requested = cl.ehc_item(cl.OpenAssessment(UUID(int=1), UUID(int=2), "C", "requested", date(2025, 4, 1)), TODAY)
    assert requested.next_due.due_on == date(2025, 5, 13) and requested.overdue
    drafted = cl.ehc_item(cl.OpenAssessment(UUID(int=1), UUID(int=2), "C", "draft_issued", date(2025, 1, 6),
                                            (Reg10_4Exception.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES,)), TODAY)
    assert drafted.next_due.due_on == date(2025, 5, 26) and drafted.overdue
    assert drafted.excused_by == (Reg10_4Exception.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES,)


def test_the_review_list_shows_children_from_23_months_until_the_review_is_done_or_they_start_school():
    def watch(dob, completed=None):
        return cl.ReviewWatchInput(UUID(int=dob.toordinal()), str(dob), dob, completed, None)

    items = cl.review_watch([
        watch(date(2023, 7, 2)),  # 23 months today: approaching
        watch(date(2023, 7, 3)),  # a day short of 23 months: not yet
        watch(date(2022, 12, 2)),  # 30 months today: HCP overdue
        watch(date(2022, 6, 2)),  # 36 months today: overdue
        watch(date(2022, 6, 2), completed=date(2024, 7, 1)),  # done and past the window: gone
        watch(date(2023, 1, 1), completed=date(2025, 3, 1)),  # done, still in the window: shown as done
        watch(date(2020, 8, 31)),  # at school since September 2024: gone
    ], TODAY)
    assert [(i.child_name, i.phase) for i in items] == [
        ("2022-06-02", "overdue"), ("2022-12-02", "hcp_overdue"), ("2023-07-02", "approaching"), ("2023-01-01", "done")]
