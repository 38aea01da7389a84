"""The integrated review pages (views/reviews.py) against fake API clients. The fake clock's
today is 15 January 2027."""

from __future__ import annotations

from urllib.parse import urlencode

from services.web.api_clients import ApiValidationError, Conflict, Forbidden, NotFound
from tests.unit.web.casework_fakes import CHILD_ID, HIDDEN, REVIEW_ID, cw, date_fields  # noqa: F401

NEW = f"/children/{CHILD_ID}/integrated-reviews/new"
COMPLETE = f"/children/{CHILD_ID}/integrated-reviews/{REVIEW_ID}/complete"
SCHEDULED = {"kind": "integrated_review", "id": REVIEW_ID, "child_id": CHILD_ID, "child_name": "Amara Okoro",
             "state": "scheduled", "since": "2027-01-10", "days_waiting": 5, "next_action": "complete",
             "next_due": {"kind": "integrated_review_scheduled", "due_on": "2027-01-20", "reference": "x"},
             "overdue": False, "days_overdue": 0, "excused_by": []}
DUE = {"child_id": CHILD_ID, "child_name": "Amara Okoro", "phase": "hcp_overdue", "age_months": 31,
       "window_opens": "2026-06-01", "hcp_due": {"kind": "hcp", "due_on": "2026-12-31", "reference": "x"},
       "eyfs_due": {"kind": "eyfs", "due_on": "2027-05-31", "reference": "x"}, "scheduled_for": None,
       "completed_on": None, "done": False, "overdue": True}


def test_the_schedule_form_offers_the_childs_setting_by_name_and_a_date(cw):
    cw.apis.referrals.answers["child"] = dict(HIDDEN)
    cw.sign_in_as("grace-mensah")
    page = cw.client.get(NEW)
    assert page.status_code == 200
    assert "Sunflower Nursery" in page.text and "the child’s setting" in page.text
    assert 'id="scheduled-for-day"' in page.text
    for part in ("day", "month", "year"):  # the names the handler reads
        assert f'name="scheduled_for_{part}"' in page.text
    assert "Northbridge Health Visiting" not in page.text.split("<main")[1].split("</main>")[0].split("Who will you do it with?")[1]


def test_scheduling_sends_the_date_and_the_partner_with_its_agency(cw):
    cw.sign_in_as("grace-mensah")
    data = {**date_fields("scheduled_for", 20, 1, 2027), "with_organisation_id": "sunflower-nursery",
            "csrf_token": cw.csrf(NEW)}
    done = cw.client.post(NEW, data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/children/{CHILD_ID}"
    assert cw.apis.referrals.sent("schedule_review") == [
        {"scheduled_for": "2027-01-20", "with_organisation_id": "sunflower-nursery", "with_agency": "setting"}]


def test_a_date_that_is_not_real_is_an_error_linked_to_the_day(cw):
    cw.sign_in_as("grace-mensah")
    data = {**date_fields("scheduled_for", 31, 2, 2027), "csrf_token": cw.csrf(NEW)}
    page = cw.client.post(NEW, data=data)
    assert page.status_code == 400
    assert 'href="#scheduled-for-day"' in page.text and "must be a real date" in page.text
    assert 'href="#with-organisation-id"' in page.text
    assert cw.apis.referrals.sent("schedule_review") == []


def test_a_date_part_sent_twice_or_too_long_is_the_same_error_not_a_crash(cw):
    cw.sign_in_as("grace-mensah")
    twice = [("scheduled_for_day", "1"), ("scheduled_for_day", "2"), ("scheduled_for_month", "1"),
             ("scheduled_for_year", "2027"), ("with_organisation_id", "sunflower-nursery"), ("csrf_token", cw.csrf(NEW))]
    huge = {**date_fields("scheduled_for", 1, 1, 2027), "scheduled_for_year": "9" * 20,
            "with_organisation_id": "sunflower-nursery", "csrf_token": cw.csrf(NEW)}
    for body in (twice, huge):
        page = cw.client.post(NEW, content=urlencode(body),
                              headers={"content-type": "application/x-www-form-urlencoded"})
        assert page.status_code == 400 and 'href="#scheduled-for-day"' in page.text and "must be a real date" in page.text
    assert cw.apis.referrals.sent("schedule_review") == []


def test_the_apis_422_on_the_date_is_shown_on_the_date(cw):
    cw.apis.referrals.raises["schedule_review"] = ApiValidationError({"scheduled_for": "scheduled_for must not be in the past"})
    cw.sign_in_as("grace-mensah")
    data = {**date_fields("scheduled_for", 1, 1, 2027), "with_organisation_id": "sunflower-nursery", "csrf_token": cw.csrf(NEW)}
    page = cw.client.post(NEW, data=data)
    assert page.status_code == 400 and 'href="#scheduled-for-day"' in page.text and "Must not be in the past" in page.text


def test_completing_records_an_outcome_per_prime_area(cw):
    cw.sign_in_as("grace-mensah")
    page = cw.client.get(COMPLETE)
    assert page.status_code == 200 and 'value="15"' in page.text  # today, filled in
    for area in ("Communication and language", "Physical development", "Personal, social and emotional development"):
        assert area in page.text
    data = {**date_fields("completed_on", 15, 1, 2027), "communication_and_language": "emerging",
            "physical_development": "expected", "personal_social_and_emotional": "expected", "csrf_token": cw.csrf(COMPLETE)}
    done = cw.client.post(COMPLETE, data=data, follow_redirects=False)
    assert done.status_code == 303
    assert cw.apis.referrals.sent("complete_review") == [{"completed_on": "2027-01-15", "outcomes": {
        "communication_and_language": "emerging", "physical_development": "expected",
        "personal_social_and_emotional": "expected"}}]


def test_an_outcome_left_out_is_an_error_on_that_area(cw):
    cw.sign_in_as("grace-mensah")
    data = {**date_fields("completed_on", 15, 1, 2027), "communication_and_language": "emerging", "csrf_token": cw.csrf(COMPLETE)}
    page = cw.client.post(COMPLETE, data=data)
    assert page.status_code == 400
    assert 'href="#physical-development"' in page.text and 'href="#personal-social-and-emotional"' in page.text


def test_completing_a_review_twice_is_said_in_words(cw):
    cw.apis.referrals.raises["complete_review"] = Conflict("the integrated review is already completed")
    cw.sign_in_as("grace-mensah")
    data = {**date_fields("completed_on", 15, 1, 2027), "communication_and_language": "emerging",
            "physical_development": "expected", "personal_social_and_emotional": "expected", "csrf_token": cw.csrf(COMPLETE)}
    page = cw.client.post(COMPLETE, data=data)
    assert page.status_code == 409 and "the integrated review is already completed" in page.text


def test_an_unknown_child_is_page_not_found(cw):
    cw.apis.referrals.raises["child"] = NotFound("")
    cw.sign_in_as("grace-mensah")
    assert cw.client.get(COMPLETE).status_code == 404


def test_the_health_visitors_list_shows_reviews_due_overdue_in_words_and_those_scheduled(cw):
    cw.apis.referrals.answers["integrated_reviews"] = {"items": [DUE], "total": 1}
    cw.apis.referrals.caseloads["integrated_review"] = [SCHEDULED]
    cw.sign_in_as("grace-mensah")
    page = cw.client.get("/integrated-reviews")
    assert page.status_code == 200
    assert "Overdue" in page.text and "31 December 2026" in page.text and "31 months" in page.text
    assert f"/children/{CHILD_ID}/integrated-reviews/{REVIEW_ID}/complete" in page.text
    assert "20 January 2027" in page.text


def test_a_setting_without_the_list_sees_its_scheduled_reviews(cw):
    cw.apis.referrals.raises["integrated_reviews"] = Forbidden("only a health visiting service has an integrated review list")
    cw.apis.referrals.caseloads["integrated_review"] = [SCHEDULED]
    cw.sign_in_as("priya-shah")
    page = cw.client.get("/integrated-reviews")
    assert page.status_code == 200 and "Complete the review" in page.text and ">Due<" not in page.text
