"""Safeguarding access, the heavy form (views/safeguarding.py), against fake API clients."""

from __future__ import annotations

from services.web.api_clients import ApiValidationError, Forbidden, NotFound
from tests.unit.web.casework_fakes import CHILD_ID, cw  # noqa: F401

NEW = f"/children/{CHILD_ID}/safeguarding-access/new"
ANSWERS = {"justification": "Bruising seen twice this week; the family cannot be told yet.",
           "dsl_name": "Hannah Price", "hours": "24", "confirm": "yes"}


def test_the_dsl_gets_the_warning_and_every_part_of_the_heavy_form(cw):
    cw.sign_in_as("hannah-price")
    page = cw.client.get(NEW)
    assert page.status_code == 200
    assert "govuk-warning-text" in page.text and "without the family’s consent" in page.text
    for field in ('id="justification"', 'id="dsl-name"', 'value="Hannah Price"', 'id="hours"', "At most 72 hours",
                  'name="confirm"'):
        assert field in page.text, field


def test_someone_who_is_not_a_dsl_is_told_in_words_to_ask_their_dsl_and_gets_no_button(cw):
    cw.sign_in_as("priya-shah")
    page = cw.client.get(NEW)
    assert page.status_code == 200
    assert "Ask your designated safeguarding lead." in page.text
    assert 'id="justification"' not in page.text


def test_granting_goes_through_check_your_answers_and_records_the_leads_name(cw):
    cw.sign_in_as("hannah-price")
    token = cw.csrf(NEW)
    check = cw.client.post(NEW, data={**ANSWERS, "csrf_token": token})
    assert check.status_code == 200 and "Check your answers" in check.text and "24 hours" in check.text
    assert cw.apis.consent.granted == []
    done = cw.client.post(NEW, data={**ANSWERS, "step": "confirm", "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/children/{CHILD_ID}"
    assert cw.apis.consent.granted == [{
        "justification": "Bruising seen twice this week; the family cannot be told yet.\n\n"
                         "Designated safeguarding lead: Hannah Price", "hours": 24.0}]


def test_each_missing_part_is_an_error_linked_to_its_field(cw):
    cw.sign_in_as("hannah-price")
    page = cw.client.post(NEW, data={"justification": "too short", "dsl_name": "", "hours": "96",
                                     "csrf_token": cw.csrf(NEW)})
    assert page.status_code == 400
    for href in ("#justification", "#dsl-name", "#hours", "#confirm"):
        assert f'href="{href}"' in page.text, href
    assert "at most 72 hours" in page.text


def test_the_apis_refusal_is_shown_on_the_page_in_words(cw):
    cw.apis.consent.refuse_with = Forbidden("only your organisation's designated safeguarding lead may grant "
                                            "safeguarding access: ask your designated safeguarding lead")
    cw.sign_in_as("hannah-price")
    page = cw.client.post(NEW, data={**ANSWERS, "step": "confirm", "csrf_token": cw.csrf(NEW)})
    assert page.status_code == 403
    assert "Only your organisation&#39;s designated safeguarding lead may grant safeguarding access: ask your " \
           "designated safeguarding lead." in page.text
    assert 'id="justification"' not in page.text


def test_the_apis_422_is_shown_on_the_field(cw):
    cw.apis.consent.refuse_with = ApiValidationError({"hours": "safeguarding access lasts more than 0 and at most 72 hours"})
    cw.sign_in_as("hannah-price")
    page = cw.client.post(NEW, data={**ANSWERS, "step": "confirm", "csrf_token": cw.csrf(NEW)})
    assert page.status_code == 400 and 'href="#hours"' in page.text


def test_a_child_the_lead_may_not_know_is_page_not_found(cw):
    cw.apis.referrals.raises["child"] = NotFound("")
    cw.sign_in_as("hannah-price")
    assert cw.client.get(NEW).status_code == 404
