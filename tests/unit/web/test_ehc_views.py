"""The EHC needs assessment pages (views/ehc.py) against fake API clients. The fake clock's
today is 15 January 2027; the request below was received on 8 December 2026 (week 6 of 20)."""

from __future__ import annotations

import re

from services.web.api_clients import ApiValidationError, Conflict, NotFound
from tests.unit.web.casework_fakes import ADVICE_ID, CHILD_ID, REQUEST_ID, cw, date_fields  # noqa: F401
from services.web.views.ehc import week_of
from datetime import date

NEW = f"/children/{CHILD_ID}/ehc-requests/new"
PAGE = f"/ehc-requests/{REQUEST_ID}"


def _request(state="started", **extra):
    return {"request_id": REQUEST_ID, "child_id": CHILD_ID, "la_organisation_id": "northbridge-sen",
            "la_organisation_name": "Northbridge SEN Team", "state": state, "requested_on": "2026-12-08",
            "requested_by": "setting", "decided_on": "2027-01-12" if state != "requested" else None,
            "draft_issued_on": None, "comments_due_on": None, "finalised_on": None, "exceptions": [],
            "due_dates": [
                {"kind": "ehc_decision_to_assess", "due_on": "2027-01-19", "reference": "r", "met_on": "2027-01-12",
                 "overdue": False, "excused_by": []},
                {"kind": "ehc_notice_if_no_plan", "due_on": "2027-03-30", "reference": "r", "met_on": None,
                 "overdue": False, "excused_by": []},
                {"kind": "ehc_final_plan", "due_on": "2027-04-27", "reference": "r", "met_on": None,
                 "overdue": False, "excused_by": []}],
            "advice": [{"advice_id": ADVICE_ID, "from_organisation_id": "northbridge-ep",
                        "from_organisation_name": "Northbridge EP Service", "requested_on": "2027-01-12",
                        "due_on": "2027-02-23", "submitted_on": None}],
            "hidden": [], **extra}


EHC_ITEM = {"kind": "ehc", "id": REQUEST_ID, "child_id": CHILD_ID, "child_name": "Amara Okoro", "state": "started",
            "since": "2026-12-08", "days_waiting": 38, "next_action": "x", "next_due": None, "overdue": False,
            "days_overdue": 0, "excused_by": []}
ADVICE_ITEM = {"kind": "advice", "id": ADVICE_ID, "child_id": CHILD_ID, "child_name": "Amara Okoro",
               "state": "requested", "since": "2027-01-12", "days_waiting": 3,
               "next_action": "submit EHC advice and information",
               "next_due": {"kind": "ehc_advice", "due_on": "2027-02-23", "reference": "reg. 8(1)"},
               "overdue": False, "days_overdue": 0, "excused_by": []}


def test_week_n_counts_from_the_day_the_request_was_received():
    assert week_of(date(2026, 12, 8), date(2026, 12, 8)) == 1
    assert week_of(date(2026, 12, 8), date(2026, 12, 14)) == 1
    assert week_of(date(2026, 12, 8), date(2026, 12, 15)) == 2
    assert week_of(date(2026, 12, 8), date(2027, 1, 15)) == 6


def test_the_request_form_offers_the_local_authority_by_name_and_today(cw):
    cw.sign_in_as("priya-shah")
    page = cw.client.get(NEW)
    assert page.status_code == 200 and "Northbridge SEN Team" in page.text and 'id="received-on-day"' in page.text


def test_requesting_checks_the_answers_then_sends_the_request(cw):
    cw.sign_in_as("priya-shah")
    token = cw.csrf(NEW)
    data = {"la_organisation_id": "northbridge-sen", **date_fields("received_on", 8, 12, 2026), "csrf_token": token}
    check = cw.client.post(NEW, data=data)
    assert check.status_code == 200 and "Check your answers" in check.text
    assert "Northbridge SEN Team" in check.text and "8 December 2026" in check.text and "19 January 2027" in check.text
    assert cw.apis.referrals.sent("request_ehc") == []
    done = cw.client.post(NEW, data={**data, "step": "confirm"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/children/{CHILD_ID}"
    assert cw.apis.referrals.sent("request_ehc") == [{"la_organisation_id": "northbridge-sen", "received_on": "2026-12-08"}]


def test_a_request_without_a_local_authority_or_date_shows_the_errors_linked(cw):
    cw.sign_in_as("priya-shah")
    page = cw.client.post(NEW, data={"csrf_token": cw.csrf(NEW)})
    assert page.status_code == 400
    assert 'href="#la-organisation-id"' in page.text and 'href="#received-on-day"' in page.text


def test_the_apis_422_on_the_local_authority_is_shown_on_it(cw):
    cw.apis.referrals.raises["request_ehc"] = ApiValidationError(
        {"la_organisation_id": "la_organisation_id: 'x' is not an organisation in the directory"})
    cw.sign_in_as("priya-shah")
    data = {"la_organisation_id": "northbridge-sen", **date_fields("received_on", 8, 12, 2026), "step": "confirm",
            "csrf_token": cw.csrf(NEW)}
    page = cw.client.post(NEW, data=data)
    assert page.status_code == 400 and 'href="#la-organisation-id"' in page.text


def test_a_request_without_consent_for_the_la_is_said_in_words(cw):
    cw.apis.referrals.raises["request_ehc"] = Conflict("no consent covers the local authority for ehc")
    cw.sign_in_as("priya-shah")
    data = {"la_organisation_id": "northbridge-sen", **date_fields("received_on", 8, 12, 2026), "step": "confirm",
            "csrf_token": cw.csrf(NEW)}
    page = cw.client.post(NEW, data=data)
    assert page.status_code == 409 and "no consent covers the local authority for ehc" in page.text


def test_the_caseworkers_page_shows_the_clock_each_date_and_the_advice(cw):
    cw.apis.referrals.answers["ehc_request"] = _request()
    cw.apis.referrals.caseloads["ehc"] = [EHC_ITEM]
    cw.sign_in_as("maria-lopez")
    page = cw.client.get(PAGE)
    assert page.status_code == 200
    assert "<title>EHC needs assessment – Amara Okoro – TAC</title>" in page.text
    assert "Week 6 of 20" in page.text
    for words in ("19 January 2027", "30 March 2027", "27 April 2027", "reg. 5(1)", "reg. 10(1)", "reg. 13(2)",
                  "Advice from Northbridge EP Service", "23 February 2027", "reg. 8(1)"):
        assert words in page.text, words
    assert "Overdue" not in page.text
    assert f"{PAGE}/advice-requests/new" in page.text and f"{PAGE}/draft-plan" in page.text


def test_a_missed_date_is_overdue_in_red_with_the_word_and_the_reg_10_4_exception_beside_it(cw):
    req = _request(state="requested", exceptions=["family_absent_4_weeks"])
    req["due_dates"][0].update(met_on=None, overdue=True, excused_by=["family_absent_4_weeks"])
    cw.apis.referrals.answers["ehc_request"] = req
    cw.apis.referrals.caseloads["ehc"] = [EHC_ITEM]
    cw.sign_in_as("maria-lopez")
    text = cw.client.get(PAGE).text
    assert re.search(r'govuk-tag--red">\s*Overdue', text)
    assert "Reg. 10(4) exception: The family was away from the area for 4 weeks or more" in text
    assert f"{PAGE}/decision" in text


def test_an_unknown_or_hidden_request_is_page_not_found(cw):
    cw.apis.referrals.raises["ehc_request"] = NotFound("")
    cw.sign_in_as("kit-ward")
    page = cw.client.get(PAGE)
    assert page.status_code == 404 and "Page not found" in page.text


def test_deciding_to_assess_and_declining_with_a_reason(cw):
    cw.apis.referrals.answers["ehc_request"] = _request(state="requested")
    cw.sign_in_as("maria-lopez")
    path = f"{PAGE}/decision"
    token = cw.csrf(path)
    done = cw.client.post(path, data={"decision": "start", **date_fields("decided_on", 12, 1, 2027), "csrf_token": token},
                          follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == PAGE
    assert cw.apis.referrals.sent("start_ehc") == [{"decided_on": "2027-01-12"}]
    missing = cw.client.post(path, data={"decision": "decline", **date_fields("decided_on", 12, 1, 2027), "csrf_token": token})
    assert missing.status_code == 400 and 'href="#reason"' in missing.text
    cw.client.post(path, data={"decision": "decline", "reason": "Needs met from the setting's resources.",
                               **date_fields("decided_on", 12, 1, 2027), "csrf_token": token})
    assert cw.apis.referrals.sent("decline_ehc") == [{"decided_on": "2027-01-12",
                                                       "reason": "Needs met from the setting's resources."}]


def test_asking_for_advice_names_the_organisation_from_the_directory_with_its_agency(cw):
    cw.apis.referrals.answers["ehc_request"] = _request()
    cw.sign_in_as("maria-lopez")
    path = f"{PAGE}/advice-requests/new"
    page = cw.client.get(path)
    assert "Northbridge EP Service" in page.text and "Northbridge SEN Team</label>" not in page.text
    done = cw.client.post(path, data={"from_organisation_id": "northbridge-ep", **date_fields("requested_on", 12, 1, 2027),
                                      "csrf_token": cw.csrf(path)}, follow_redirects=False)
    assert done.status_code == 303
    assert cw.apis.referrals.sent("request_advice") == [
        {"from_organisation_id": "northbridge-ep", "from_agency": "ep_service", "requested_on": "2027-01-12"}]


def test_the_draft_plan_gives_the_family_at_least_15_days(cw):
    cw.apis.referrals.answers["ehc_request"] = _request()
    cw.sign_in_as("maria-lopez")
    path = f"{PAGE}/draft-plan"
    page = cw.client.get(path)
    assert 'value="30"' in page.text  # 15 January + 15 days
    short = cw.client.post(path, data={**date_fields("issued_on", 15, 1, 2027), **date_fields("comments_due_on", 20, 1, 2027),
                                       "csrf_token": cw.csrf(path)})
    assert short.status_code == 400 and 'href="#comments-due-on-day"' in short.text and "at least 15 days" in short.text
    assert cw.apis.referrals.sent("issue_draft_plan") == []


def test_a_draft_plan_issued_at_the_end_of_year_9999_is_an_error_on_the_date_not_a_crash(cw):
    cw.apis.referrals.answers["ehc_request"] = _request()
    cw.sign_in_as("maria-lopez")
    path = f"{PAGE}/draft-plan"
    page = cw.client.post(path, data={**date_fields("issued_on", 25, 12, 9999),
                                      **date_fields("comments_due_on", 31, 12, 9999), "csrf_token": cw.csrf(path)})
    assert page.status_code == 400 and 'href="#issued-on-day"' in page.text and "must be a real date" in page.text
    assert cw.apis.referrals.sent("issue_draft_plan") == []


def test_finalising_records_the_exceptions_ticked(cw):
    cw.apis.referrals.answers["ehc_request"] = _request(state="draft_issued")
    cw.sign_in_as("maria-lopez")
    path = f"{PAGE}/final-plan"
    done = cw.client.post(path, data={**date_fields("finalised_on", 15, 1, 2027),
                                      "exceptions": ["setting_closed_4_weeks", "family_absent_4_weeks"],
                                      "csrf_token": cw.csrf(path)}, follow_redirects=False)
    assert done.status_code == 303
    assert cw.apis.referrals.sent("finalise_plan") == [
        {"finalised_on": "2027-01-15", "exceptions": ["setting_closed_4_weeks", "family_absent_4_weeks"]}]


def test_the_ep_gives_advice_for_the_request_on_its_caseload(cw):
    cw.apis.referrals.caseloads["advice"] = [ADVICE_ITEM]
    cw.sign_in_as("lee-chen")
    path = f"/ehc-advice/{ADVICE_ID}"
    page = cw.client.get(path)
    assert page.status_code == 200 and "Amara Okoro" in page.text and "23 February 2027" in page.text
    token = cw.csrf(path)
    data = {"summary": "Visual supports and small-group work.", **date_fields("submitted_on", 15, 1, 2027), "csrf_token": token}
    assert "Check your answers" in cw.client.post(path, data=data).text
    done = cw.client.post(path, data={**data, "step": "confirm"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/children/{CHILD_ID}"
    assert cw.apis.referrals.sent("submit_advice") == [{"summary": "Visual supports and small-group work.",
                                                        "submitted_on": "2027-01-15"}]


def test_advice_not_asked_of_the_viewer_is_page_not_found(cw):
    cw.sign_in_as("sam-okafor")
    assert cw.client.get(f"/ehc-advice/{ADVICE_ID}").status_code == 404


def test_advice_already_given_is_said_in_words(cw):
    cw.apis.referrals.caseloads["advice"] = [ADVICE_ITEM]
    cw.apis.referrals.raises["submit_advice"] = Conflict("this advice was already submitted on 2027-01-14")
    cw.sign_in_as("lee-chen")
    path = f"/ehc-advice/{ADVICE_ID}"
    page = cw.client.post(path, data={"summary": "x" * 30, **date_fields("submitted_on", 15, 1, 2027), "step": "confirm",
                                      "csrf_token": cw.csrf(path)})
    assert page.status_code == 409 and "already submitted" in page.text


def test_your_work_links_the_advice_request_with_its_due_date_and_the_ehc_clock(cw):
    cw.apis.referrals.items = [ADVICE_ITEM, {**EHC_ITEM, "overdue": True,
                                             "next_due": {"kind": "k", "due_on": "2027-01-10", "reference": "r"}}]
    cw.sign_in_as("lee-chen")
    page = cw.client.get("/")
    assert page.status_code == 200
    assert f'href="/ehc-advice/{ADVICE_ID}"' in page.text and "Due by 23 February 2027" in page.text
    assert f'href="/ehc-requests/{REQUEST_ID}"' in page.text
