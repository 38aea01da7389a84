"""Recording a parent's consent: the form, check your answers (draft in the session, not the
URL), the confirmation panel; errors linked to fields; the API's 422 and 404 against fakes."""

from __future__ import annotations

import pytest

from services.web.api_clients import ApiValidationError, NotFound
from tests.unit.web.child_fakes import CHILD_ID, HIDDEN_CHILD, install

FORM = f"/children/{CHILD_ID}/consents/new"
CHECK = f"/children/{CHILD_ID}/consents/check"


@pytest.fixture
def world(web):
    return install(web)


def _answers(web, **overrides):
    data = {"given_by_name": "Ada Okoro", "relationship": "mother", "pr": "yes", "agency": ["area_senco"],
            "category": ["concern", "referral", "progress"], "purpose": ["referral", "coordination"], "period": "12",
            "csrf_token": web.csrf(FORM)}
    data.update(overrides)
    return web.client.post(FORM, data=data, follow_redirects=False)


def test_the_form_explains_recipients_and_categories_in_plain_english(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get(FORM)
    assert page.status_code == 200
    assert "Record a parent’s consent – Amara Okoro – TAC" in page.text
    assert "Riverside Speech and Language Therapy" in page.text and "Any area SENCO team on the team" in page.text
    assert "Speech and language therapy reports and programmes" in page.text


def test_answers_go_to_check_your_answers_and_nothing_is_recorded_yet(web, world):
    web.sign_in_as("priya-shah")
    response = _answers(web, organisation=["riverside-slt"])
    assert response.status_code == 303 and response.headers["location"] == CHECK
    assert "Ada" not in response.headers["location"]
    assert not world.called("grant_consent")
    check = web.client.get(CHECK)
    assert check.status_code == 200
    text = check.text
    assert "Check the consent before recording it" in text
    assert "Ada Okoro (mother)" in text and "Any area SENCO team on the team" in text
    assert "Riverside Speech and Language Therapy only" in text
    assert "Coordinating the team around the child" in text


def test_recording_sends_the_consent_then_shows_the_confirmation_panel(web, world):
    web.sign_in_as("priya-shah")
    _answers(web, organisation=["sunflower-nursery"], agency=[])
    response = web.client.post(CHECK, data={"csrf_token": web.csrf(CHECK)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("/consents/recorded")
    body = world.called("grant_consent")[0][1]
    assert body["given_by"] == {"name": "Ada Okoro", "relationship": "mother", "has_parental_responsibility": True}
    assert body["recipients"] == {"organisation_ids": ["sunflower-nursery"], "agencies": []}
    assert body["categories"] == ["concern", "referral", "progress"] and body["purposes"] == ["referral", "coordination"]
    assert body["expires_at"]
    done = web.client.get(response.headers["location"])
    assert "govuk-panel" in done.text and "Consent recorded" in done.text
    assert web.client.get(CHECK, follow_redirects=False).headers["location"] == FORM  # the draft is gone


def test_missing_answers_show_the_error_summary_linked_to_each_field(web, world):
    web.sign_in_as("priya-shah")
    response = _answers(web, given_by_name="", agency=[], category=[], pr="")
    assert response.status_code == 400
    for field in ("given-by-name", "pr", "organisations", "categories"):
        assert f'href="#{field}"' in response.text, field
    assert "<title>Error: " in response.text


def test_a_relationship_longer_than_the_api_takes_is_an_error_on_it_and_other_words_are_not_kept(web, world):
    web.sign_in_as("priya-shah")
    long = _answers(web, relationship="other", relationship_other="x" * 65, organisation=["riverside-slt"])
    assert long.status_code == 400 and 'href="#relationship-other"' in long.text
    assert "must be 64 characters or fewer" in long.text
    # Typed into "other" and then "mother" chosen: only the answer is kept for checking.
    kept = _answers(web, relationship_other="y" * 5000, organisation=["riverside-slt"])
    assert kept.status_code == 303
    assert len(kept.headers["set-cookie"]) < 4096 and "y" * 100 not in web.client.get(CHECK).text


def test_an_api_422_is_mapped_back_to_the_form_field(web, world):
    world.fail["grant_consent"] = ApiValidationError({"given_by.relationship": "relationship must not be blank"})
    web.sign_in_as("priya-shah")
    _answers(web)
    response = web.client.post(CHECK, data={"csrf_token": web.csrf(CHECK)})
    assert response.status_code == 400 and 'href="#relationship"' in response.text


def test_a_child_not_yet_known_to_the_consent_service_keeps_the_answers_and_says_wait(web, world):
    world.fail["grant_consent"] = NotFound("not registered yet")
    web.sign_in_as("priya-shah")
    _answers(web)
    response = web.client.post(CHECK, data={"csrf_token": web.csrf(CHECK)})
    assert response.status_code == 503 and "still setting up" in response.text
    assert web.client.get(CHECK).status_code == 200


def test_only_the_childs_setting_records_consent(web, world):
    world.child = {**HIDDEN_CHILD, "setting_organisation_id": "daisy-chain-preschool"}
    web.sign_in_as("priya-shah")
    assert web.client.get(FORM).status_code == 404


def test_a_child_the_viewer_may_not_know_is_page_not_found(web, world):
    world.fail["child"] = NotFound("no child")
    web.sign_in_as("priya-shah")
    assert web.client.get(FORM).status_code == 404
