"""Inviting an organisation to the team and answering an invitation, against fake API clients."""

from __future__ import annotations

import pytest

from services.web.api_clients import ApiValidationError, Conflict, NotFound
from tests.unit.web.child_fakes import CHILD_ID, INVITATION_ID, install

NEW = f"/children/{CHILD_ID}/invitations/new"


@pytest.fixture
def world(web):
    return install(web)


def test_the_invite_form_offers_organisations_not_on_the_team(web, world):
    web.sign_in_as("priya-shah")
    page = web.client.get(NEW)
    assert page.status_code == 200
    assert "Northbridge Health Visiting (health visiting service)" in page.text
    assert "Riverside Speech and Language Therapy (" not in page.text  # already on the team


def test_inviting_sends_the_organisation_and_message(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"organisation": "northbridge-hv", "message": "Review at two?",
                                          "csrf_token": web.csrf(NEW)}, follow_redirects=False)
    assert response.status_code == 303
    assert world.called("invite")[0][1] == {"organisation_id": "northbridge-hv", "message": "Review at two?"}


def test_inviting_nobody_links_the_error_to_the_select(web, world):
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"organisation": "", "csrf_token": web.csrf(NEW)})
    assert response.status_code == 400 and 'href="#organisation"' in response.text


def test_an_api_422_on_the_invitation_is_mapped_to_the_select(web, world):
    world.fail["invite"] = ApiValidationError({"organisation_id": "already on the team"})
    web.sign_in_as("priya-shah")
    response = web.client.post(NEW, data={"organisation": "northbridge-hv", "csrf_token": web.csrf(NEW)})
    assert response.status_code == 400 and 'href="#organisation"' in response.text


def test_your_work_lists_pending_invitations(web, world):
    web.sign_in_as("grace-mensah")
    page = web.client.get("/")
    assert f'href="/invitations/{INVITATION_ID}"' in page.text and "Invitation from Sunflower Nursery" in page.text


def test_accepting_an_invitation_goes_to_the_child(web, world):
    web.sign_in_as("grace-mensah")
    page = web.client.get(f"/invitations/{INVITATION_ID}")
    assert page.status_code == 200 and "Join us for the review at two?" in page.text
    response = web.client.post(f"/invitations/{INVITATION_ID}/accept",
                               data={"csrf_token": web.csrf(f"/invitations/{INVITATION_ID}")}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/children/{CHILD_ID}"
    assert len(world.called("accept_invitation")) == 1


def test_declining_an_invitation_needs_a_reason_then_confirms(web, world):
    web.sign_in_as("grace-mensah")
    path = f"/invitations/{INVITATION_ID}/decline"
    csrf = web.csrf(f"/invitations/{INVITATION_ID}")
    response = web.client.post(path, data={"reason": "", "csrf_token": csrf})
    assert response.status_code == 400 and 'href="#reason"' in response.text
    response = web.client.post(path, data={"reason": "Not our area", "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert world.called("decline_invitation")[0][1] == {"reason": "Not our area"}
    assert "Invitation declined" in web.client.get(response.headers["location"]).text


def test_an_invitation_not_pending_for_the_caller_is_page_not_found(web, world):
    world.invitations = []
    web.sign_in_as("grace-mensah")
    assert web.client.get(f"/invitations/{INVITATION_ID}").status_code == 404


def test_an_expired_invitation_is_a_409_page(web, world):
    world.fail["accept_invitation"] = Conflict("the invitation expired on 23 January 2026")
    web.sign_in_as("grace-mensah")
    response = web.client.post(f"/invitations/{INVITATION_ID}/accept",
                               data={"csrf_token": web.csrf(f"/invitations/{INVITATION_ID}")})
    assert response.status_code == 409 and "expired" in response.text


def test_inviting_to_a_child_the_viewer_may_not_know_is_page_not_found(web, world):
    world.fail["child"] = NotFound("no child")
    web.sign_in_as("kit-ward")
    assert web.client.get(NEW).status_code == 404
