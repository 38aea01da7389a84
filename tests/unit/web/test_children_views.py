"""Find a child, register a child, the child page, key person and raising a concern, against
fake API clients."""

from __future__ import annotations

import re

import pytest

from services.web.api_clients import ApiValidationError, NotFound
from tests.unit.web.child_fakes import CHILD_ID, HIDDEN_CHILD, OTHER_ID, REFERRAL_ID, install


@pytest.fixture
def world(web):
    return install(web)


def _timeline_ids(html: str) -> list[str]:
    return re.findall(r'data-event-id="([^"]+)"', html)


def test_find_a_child_lists_the_children_with_names_ages_and_links(web, world):
    world.found = [{"child_id": CHILD_ID, "setting_organisation_name": "Sunflower Nursery", "details_hidden": False,
                    "given_name": "Amara", "family_name": "Okoro", "age_months": 26},
                   {"child_id": OTHER_ID, "setting_organisation_name": "Sunflower Nursery", "details_hidden": True}]
    web.sign_in_as("priya-shah")
    page = web.client.post("/children", data={"name": " amara ", "csrf_token": web.csrf("/children")})
    assert page.status_code == 200
    assert "Amara Okoro" in page.text and "26 months old" in page.text
    assert f'href="/children/{CHILD_ID}"' in page.text and f'href="/children/{OTHER_ID}"' in page.text
    assert "Not shared" in page.text  # the hidden child's age
    assert world.called("find_children")[-1][0]["name"] == "amara"
    assert "<title>Find a child – TAC</title>" in page.text


def test_a_search_by_name_is_posted_so_the_name_is_never_in_the_address(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get("/children")
    assert page.status_code == 200 and world.called("find_children")[-1][0]["name"] is None
    form = re.search(r'<form method="(\w+)" action="/children"', page.text)
    assert form and form.group(1) == "post"
    assert web.client.post("/children", data={"name": "amara"}).status_code == 403  # no CSRF token


def test_a_name_too_long_to_search_by_is_an_error_on_the_field_not_a_search(web, world):
    web.sign_in_as("priya-shah")
    calls = len(world.called("find_children"))
    page = web.client.post("/children", data={"name": "a" * 101, "csrf_token": web.csrf("/children")})
    assert page.status_code == 400
    assert "There is a problem" in page.text and 'href="#name"' in page.text
    assert "The name must be 100 characters or fewer" in page.text
    assert len(world.called("find_children")) == calls + 1  # the csrf page's listing only


def test_your_work_and_the_header_link_to_find_a_child(web, world):
    web.sign_in_as("dana-hughes")
    page = web.client.get("/")
    assert page.text.count('href="/children"') >= 2


def test_registering_a_child_goes_to_the_child_page(web, world):
    web.sign_in_as("priya-shah")
    csrf = web.csrf("/children/new")
    response = web.client.post("/children/new", data={"given_name": "Amara", "family_name": "Okoro", "dob_day": "2",
                                                      "dob_month": "11", "dob_year": "2023", "csrf_token": csrf},
                               follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/children/{CHILD_ID}"
    assert world.called("register_child")[0][0] == {"given_name": "Amara", "family_name": "Okoro",
                                                    "date_of_birth": "2023-11-02"}


def test_registering_without_a_name_shows_the_error_summary_linked_to_the_field(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post("/children/new", data={"family_name": "Okoro", "dob_day": "2", "dob_month": "11",
                                                      "dob_year": "2023", "csrf_token": web.csrf("/children/new")})
    assert response.status_code == 400
    assert "There is a problem" in response.text and 'href="#given-name"' in response.text
    assert 'id="given-name-error"' in response.text
    assert not world.called("register_child")


def test_a_date_of_birth_with_a_month_of_twenty_digits_is_an_error_on_the_field_not_a_crash(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post("/children/new", data={"given_name": "A", "family_name": "B", "dob_day": "1",
                                                      "dob_month": "9" * 20, "dob_year": "2024",
                                                      "csrf_token": web.csrf("/children/new")})
    assert response.status_code == 400 and 'href="#dob-day"' in response.text
    assert not world.called("register_child")


def test_an_api_422_on_the_date_of_birth_is_shown_on_the_date_field(web, world):
    world.fail["register_child"] = ApiValidationError({"date_of_birth": "date_of_birth: TAC is for children under five"})
    web.sign_in_as("priya-shah")
    response = web.client.post("/children/new", data={"given_name": "A", "family_name": "O", "dob_day": "2",
                                                      "dob_month": "11", "dob_year": "2015",
                                                      "csrf_token": web.csrf("/children/new")})
    assert response.status_code == 400 and 'href="#dob-day"' in response.text
    assert "under five" in response.text


def test_only_a_setting_registers_children(web, world):
    web.sign_in_as("dana-hughes")
    assert web.client.get("/children/new").status_code == 404


def test_the_child_page_shows_details_team_timeline_newest_first_and_why(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get(f"/children/{CHILD_ID}")
    assert page.status_code == 200
    text = page.text
    assert "<title>Amara Okoro – TAC</title>" in text and text.count("<h1") == 1
    assert "26 months old" in text and "2 November 2023" in text and "Tom Reed" in text
    assert "Riverside Speech and Language Therapy" in text and "Accepted a referral" in text
    assert _timeline_ids(text) == ["e3", "e2", "e1"]
    assert "Answers your organisation’s request" in text
    assert "Your organisation’s record" in text
    assert "Consent given by Ada Okoro (mother) on 1 December 2026, until 1 December 2027" in text
    assert "Riverside Speech and Language Therapy accepted the referral from Sunflower Nursery" in text  # plain words
    assert "raw summary" not in text and "riverside-slt" not in text
    assert "Sam Okafor, Riverside Speech and Language Therapy" in text
    assert "8 January 2026 at 09:00" in text  # UK time (GMT in January)
    for path in ("concerns/new", "consents/new", "referrals/new", "invitations/new", "key-person",
                 "transition/new", "ehc-requests/new"):
        assert f'href="/children/{CHILD_ID}/{path}"' in text


def test_the_timeline_filters_by_category_without_javascript(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get(f"/children/{CHILD_ID}", params=[("category", "concern"), ("category", "slt")])
    assert _timeline_ids(page.text) == ["e2", "e1"]
    assert "Showing 2 of the 3 entries" in page.text
    assert re.search(r'value="concern"\s+checked', page.text)


def test_another_team_member_sees_child_without_details_and_its_own_actions(web, world):
    world.child = {**HIDDEN_CHILD}
    world.caseload = [{"kind": "referral", "id": REFERRAL_ID, "child_id": CHILD_ID, "state": "made",
                       "days_waiting": 3, "child_name": "Child"}]
    web.sign_in_as("sam-okafor")
    page = web.client.get(f"/children/{CHILD_ID}")
    assert page.status_code == 200
    assert "<h1 class=\"govuk-heading-l\">Child</h1>" in page.text and "Amara" not in page.text
    assert f'href="/children/{CHILD_ID}/slt-reports/new"' in page.text
    assert f'href="/children/{CHILD_ID}/concerns/new"' not in page.text
    assert f'href="/referrals/{REFERRAL_ID}"' in page.text  # waiting for its answer
    assert "A parent’s consent" in page.text  # the consent list is not theirs to read
    assert not world.called("consents")


def test_a_child_the_viewer_may_not_know_is_page_not_found_like_a_made_up_id(web, world):
    web.sign_in_as("kit-ward")
    world.fail["child"] = NotFound("no child")
    unknown = web.client.get(f"/children/{CHILD_ID}")
    made_up = web.client.get(f"/children/{OTHER_ID}")
    malformed = web.client.get("/children/not-an-id")
    assert unknown.status_code == made_up.status_code == malformed.status_code == 404
    assert "Page not found" in unknown.text and "Page not found" in malformed.text


def test_raising_a_concern_posts_the_areas_and_returns_to_the_child(web, world):
    web.sign_in_as("priya-shah")
    csrf = web.csrf(f"/children/{CHILD_ID}/concerns/new")
    response = web.client.post(f"/children/{CHILD_ID}/concerns/new", data={
        "areas": ["communication_and_interaction"], "summary": "Few words", "evidence": "", "csrf_token": csrf},
        follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/children/{CHILD_ID}"
    assert world.called("raise_concern")[0][1] == {"areas_of_need": ["communication_and_interaction"],
                                                   "summary": "Few words", "evidence": None}


def test_a_concern_without_an_area_links_the_error_to_the_first_checkbox(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post(f"/children/{CHILD_ID}/concerns/new", data={
        "summary": "Few words", "csrf_token": web.csrf(f"/children/{CHILD_ID}/concerns/new")})
    assert response.status_code == 400 and 'href="#areas"' in response.text and 'id="areas"' in response.text


def test_an_api_422_on_a_concern_maps_to_its_field(web, world):
    world.fail["raise_concern"] = ApiValidationError({"summary": "String should have at most 4000 characters"})
    web.sign_in_as("priya-shah")
    response = web.client.post(f"/children/{CHILD_ID}/concerns/new", data={
        "areas": ["cognition_and_learning"], "summary": "x", "csrf_token": web.csrf(f"/children/{CHILD_ID}/concerns/new")})
    assert response.status_code == 400 and 'href="#summary"' in response.text


def test_naming_the_key_person_and_buddy(web, world):
    web.sign_in_as("priya-shah")
    csrf = web.csrf(f"/children/{CHILD_ID}/key-person")
    response = web.client.post(f"/children/{CHILD_ID}/key-person", data={
        "key_person": "tom-reed", "buddy": "hannah-price", "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert world.called("name_key_person")[0][1] == {"key_person_id": "tom-reed", "key_person_name": "Tom Reed",
                                                     "buddy_id": "hannah-price", "buddy_name": "Hannah Price"}


def test_the_buddy_cannot_be_the_key_person(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post(f"/children/{CHILD_ID}/key-person", data={
        "key_person": "tom-reed", "buddy": "tom-reed", "csrf_token": web.csrf(f"/children/{CHILD_ID}/key-person")})
    assert response.status_code == 400 and 'href="#buddy"' in response.text


def test_forms_of_the_setting_are_page_not_found_for_others(web, world):
    world.child = {**HIDDEN_CHILD}
    web.sign_in_as("dana-hughes")
    for path in ("concerns/new", "key-person", "consents/new", "referrals/new"):
        assert web.client.get(f"/children/{CHILD_ID}/{path}").status_code == 404, path
