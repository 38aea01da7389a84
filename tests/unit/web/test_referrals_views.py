"""Referring, and the receiver's accept / decline, against fake API clients."""

from __future__ import annotations

import pytest

from services.web.api_clients import ApiValidationError, Conflict, NotFound
from tests.unit.web.child_fakes import CHILD_ID, HIDDEN_CHILD, REFERRAL_ID, install

NEW = f"/children/{CHILD_ID}/referrals/new"


@pytest.fixture
def world(web):
    return install(web)


def test_the_referral_form_lists_services_from_the_directory_by_name(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get(NEW)
    assert page.status_code == 200
    assert "Northbridge Early Years Inclusion (area SENCO team)" in page.text
    assert ">Sunflower Nursery" not in page.text  # not to itself


def test_referring_sends_the_organisation_and_its_agency_from_the_directory(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"to_organisation": "riverside-slt", "reason": "Speech delay",
                                          "csrf_token": web.csrf(NEW)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/children/{CHILD_ID}"
    assert world.called("make_referral")[0][1] == {"to_organisation_id": "riverside-slt", "to_agency": "slt_service",
                                                   "reason": "Speech delay"}


def test_a_referral_without_a_reason_links_the_error_to_the_reason(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"to_organisation": "riverside-slt", "csrf_token": web.csrf(NEW)})
    assert response.status_code == 400 and 'href="#reason"' in response.text


def test_an_api_422_on_the_organisation_is_shown_on_the_select(web, world):
    world.fail["make_referral"] = ApiValidationError({"to_organisation_id": "not in the directory"})
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"to_organisation": "riverside-slt", "reason": "x", "csrf_token": web.csrf(NEW)})
    assert response.status_code == 400 and 'href="#to-organisation"' in response.text


def test_a_referral_without_consent_is_a_409_page_in_words(web, world):
    world.fail["make_referral"] = Conflict("no active consent lets Riverside see referrals")
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"to_organisation": "riverside-slt", "reason": "x", "csrf_token": web.csrf(NEW)})
    assert response.status_code == 409 and "no active consent lets Riverside see referrals" in response.text


def test_the_receiver_reads_the_referral_and_accepts_it(web, world):
    world.child = {**HIDDEN_CHILD}
    web.sign_in_as("dana-hughes")
    page = web.client.get(f"/referrals/{REFERRAL_ID}")
    assert page.status_code == 200
    assert "Referral from Sunflower Nursery" in page.text and "Accept referral" in page.text
    assert "3 days waiting" in page.text
    response = web.client.post(f"/referrals/{REFERRAL_ID}/accept", data={"csrf_token": web.csrf(f"/referrals/{REFERRAL_ID}")},
                               follow_redirects=False)
    assert response.status_code == 303
    assert world.called("accept_referral") == [(REFERRAL_ID,)] or len(world.called("accept_referral")) == 1
    done = web.client.get(response.headers["location"])
    assert "Referral accepted" in done.text and f'href="/children/{CHILD_ID}"' in done.text


def test_the_referrer_sees_no_answer_buttons(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get(f"/referrals/{REFERRAL_ID}")
    assert "Accept referral" not in page.text


def test_declining_needs_a_reason(web, world):
    web.sign_in_as("dana-hughes")
    path = f"/referrals/{REFERRAL_ID}/decline"
    response = web.client.post(path, data={"reason": " ", "csrf_token": web.csrf(path)})
    assert response.status_code == 400 and 'href="#reason"' in response.text
    assert not world.called("decline_referral")
    response = web.client.post(path, data={"reason": "Not our area", "csrf_token": web.csrf(path)}, follow_redirects=False)
    assert response.status_code == 303
    assert world.called("decline_referral")[0][1] == {"reason": "Not our area"}
    world.fail["child"] = NotFound("no longer on the team")
    done = web.client.get(response.headers["location"])
    assert done.status_code == 200 and "Referral declined" in done.text


def test_a_referral_already_answered_is_a_409_page(web, world):
    world.fail["accept_referral"] = Conflict("the referral has already been accepted")
    web.sign_in_as("dana-hughes")
    response = web.client.post(f"/referrals/{REFERRAL_ID}/accept", data={"csrf_token": web.csrf("/")})
    assert response.status_code == 409 and "already been accepted" in response.text


def test_a_referral_the_viewer_may_not_know_is_page_not_found(web, world):
    world.fail["referral"] = NotFound("no referral")
    web.sign_in_as("kit-ward")
    assert web.client.get(f"/referrals/{REFERRAL_ID}").status_code == 404


def test_the_receiver_reads_a_waiting_referral_before_it_may_read_the_child(web, world):
    world.fail["child"] = NotFound("not on the team yet")
    web.sign_in_as("dana-hughes")
    page = web.client.get(f"/referrals/{REFERRAL_ID}")
    assert page.status_code == 200 and "Accept referral" in page.text
    assert "<title>Referral from Sunflower Nursery – Child – TAC</title>" in page.text
