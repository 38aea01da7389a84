"""Sharing an SLT report and EP advice (views/reports.py) against fake API clients."""

from __future__ import annotations

from services.web.api_clients import ApiValidationError, Conflict, NotFound
from tests.unit.web.casework_fakes import CHILD_ID, HIDDEN, cw  # noqa: F401 - the fixture

SLT = f"/children/{CHILD_ID}/slt-reports/new"
EP = f"/children/{CHILD_ID}/ep-advice/new"
REPORT = {"assessment_summary": "Expressive language delay.", "programme": "Shared books daily.",
          "recommendations": "Model two-word phrases\n\nReduce questions, increase comments\n"}


def test_the_slt_form_names_the_child_and_its_fields(cw):
    cw.sign_in_as("sam-okafor")
    page = cw.client.get(SLT)
    assert page.status_code == 200
    assert "<title>Share a speech and language therapy report – Amara Okoro – TAC</title>" in page.text
    for field in ('id="assessment-summary"', 'id="programme"', 'id="recommendations"'):
        assert field in page.text


def test_a_team_member_who_may_not_see_the_name_sees_the_childs_setting(cw):
    cw.apis.referrals.answers["child"] = dict(HIDDEN)
    cw.sign_in_as("sam-okafor")
    assert "Child at Sunflower Nursery" in cw.client.get(SLT).text


def test_sharing_an_slt_report_checks_the_answers_then_shares_one_recommendation_a_line(cw):
    cw.sign_in_as("sam-okafor")
    token = cw.csrf(SLT)
    check = cw.client.post(SLT, data={**REPORT, "csrf_token": token})
    assert check.status_code == 200 and "Check your answers" in check.text
    assert "Reduce questions, increase comments" in check.text
    assert cw.apis.referrals.sent("share_slt_report") == []
    done = cw.client.post(SLT, data={**REPORT, "step": "confirm", "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/children/{CHILD_ID}"
    assert cw.apis.referrals.sent("share_slt_report") == [{
        "assessment_summary": "Expressive language delay.", "programme": "Shared books daily.",
        "recommendations": ["Model two-word phrases", "Reduce questions, increase comments"]}]


def test_changing_the_answers_brings_back_the_form_filled_in(cw):
    cw.sign_in_as("sam-okafor")
    page = cw.client.post(SLT, data={**REPORT, "step": "edit", "csrf_token": cw.csrf(SLT)})
    assert page.status_code == 200 and "Shared books daily." in page.text and 'id="programme"' in page.text


def test_an_empty_report_shows_the_error_summary_linked_to_each_field(cw):
    cw.sign_in_as("sam-okafor")
    page = cw.client.post(SLT, data={"csrf_token": cw.csrf(SLT)})
    assert page.status_code == 400
    assert "There is a problem" in page.text
    assert 'href="#assessment-summary"' in page.text and 'href="#programme"' in page.text
    assert "<title>Error: Share a speech" in page.text


def test_the_apis_422_comes_back_on_the_field(cw):
    cw.apis.referrals.raises["share_slt_report"] = ApiValidationError({"programme": "String should have at most 4000 characters"})
    cw.sign_in_as("sam-okafor")
    page = cw.client.post(SLT, data={**REPORT, "step": "confirm", "csrf_token": cw.csrf(SLT)})
    assert page.status_code == 400
    assert 'href="#programme"' in page.text and "String should have at most 4000 characters" in page.text


def test_a_child_the_viewer_may_not_know_is_page_not_found(cw):
    cw.apis.referrals.raises["child"] = NotFound("")
    cw.sign_in_as("sam-okafor")
    page = cw.client.get(SLT)
    assert page.status_code == 404 and "Page not found" in page.text


def test_a_conflict_is_said_in_words(cw):
    cw.apis.referrals.raises["share_ep_advice"] = Conflict("this child has left the team")
    cw.sign_in_as("lee-chen")
    page = cw.client.post(EP, data={"summary": "Advice.", "step": "confirm", "csrf_token": cw.csrf(EP)})
    assert page.status_code == 409 and "this child has left the team" in page.text


def test_ep_advice_is_shared_after_checking(cw):
    cw.sign_in_as("lee-chen")
    token = cw.csrf(EP)
    assert "Check your answers" in cw.client.post(EP, data={"summary": "Use visual supports.", "csrf_token": token}).text
    done = cw.client.post(EP, data={"summary": "Use visual supports.", "recommendations": "Visual timetable",
                                    "step": "confirm", "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert cw.apis.referrals.sent("share_ep_advice") == [{"summary": "Use visual supports.",
                                                          "recommendations": ["Visual timetable"]}]


def test_a_parent_gets_page_not_found(cw):
    cw.sign_in_as("ada-okoro")
    assert cw.client.get(EP).status_code == 404
