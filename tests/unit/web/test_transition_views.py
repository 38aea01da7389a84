"""Planning and completing the move to school (views/transition.py) against fake API clients."""

from __future__ import annotations

from services.web.api_clients import ApiValidationError, Conflict, NotFound
from tests.unit.web.casework_fakes import CHILD_ID, cw, date_fields  # noqa: F401

NEW = f"/children/{CHILD_ID}/transition/new"
DONE = f"/children/{CHILD_ID}/transition/complete"
PLAN = {"school_organisation_id": "oak-lane-primary", **date_fields("starts_on", 1, 9, 2028),
        "plan_summary": "Visits in the summer term; staggered start."}


def test_the_plan_form_offers_schools_from_the_directory_and_the_reception_date(cw):
    cw.sign_in_as("priya-shah")
    page = cw.client.get(NEW)
    assert page.status_code == 200 and "Oak Lane Primary" in page.text
    assert 'value="2028"' in page.text  # from the child's reception_place_from
    assert "Sunflower Nursery</label>" not in page.text


def test_planning_checks_the_answers_then_sends_the_plan(cw):
    cw.sign_in_as("priya-shah")
    token = cw.csrf(NEW)
    check = cw.client.post(NEW, data={**PLAN, "csrf_token": token})
    assert "Check your answers" in check.text and "1 September 2028" in check.text and "The school joins the team" in check.text
    done = cw.client.post(NEW, data={**PLAN, "step": "confirm", "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/children/{CHILD_ID}"
    assert cw.apis.referrals.sent("plan_transition") == [{"school_organisation_id": "oak-lane-primary",
                                                          "starts_on": "2028-09-01",
                                                          "plan_summary": "Visits in the summer term; staggered start."}]


def test_missing_answers_are_errors_linked_to_their_fields(cw):
    cw.sign_in_as("priya-shah")
    page = cw.client.post(NEW, data={"csrf_token": cw.csrf(NEW)})
    assert page.status_code == 400
    for href in ("#school-organisation-id", "#starts-on-day", "#plan-summary"):
        assert f'href="{href}"' in page.text


def test_the_apis_422_is_shown_on_the_field(cw):
    cw.apis.referrals.raises["plan_transition"] = ApiValidationError({"starts_on": "starts_on must not be in the past"})
    cw.sign_in_as("priya-shah")
    page = cw.client.post(NEW, data={**PLAN, "step": "confirm", "csrf_token": cw.csrf(NEW)})
    assert page.status_code == 400 and 'href="#starts-on-day"' in page.text


def test_a_completed_transition_cannot_be_planned_again_in_words(cw):
    cw.apis.referrals.raises["plan_transition"] = Conflict("transition to school is completed; cannot plan it again")
    cw.sign_in_as("priya-shah")
    page = cw.client.post(NEW, data={**PLAN, "step": "confirm", "csrf_token": cw.csrf(NEW)})
    assert page.status_code == 409 and "cannot plan it again" in page.text


def test_completing_the_transition(cw):
    cw.sign_in_as("ms-hall")
    done = cw.client.post(DONE, data={**date_fields("completed_on", 15, 1, 2027), "csrf_token": cw.csrf(DONE)},
                          follow_redirects=False)
    assert done.status_code == 303
    assert cw.apis.referrals.sent("complete_transition") == [{"completed_on": "2027-01-15"}]


def test_an_unknown_child_is_page_not_found(cw):
    cw.apis.referrals.raises["child"] = NotFound("")
    cw.sign_in_as("priya-shah")
    assert cw.client.get(NEW).status_code == 404
