"""The team around the child: invite an organisation from the directory (the child's setting or
a team member), and answer an invitation (the organisation invited: accept, or decline with a
reason). Pending invitations are listed on "Your work" (views/home.py asks `GET /invitations`)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.views.children import is_setting_of, load_child, on_team
from services.web.views.deps import Page, PractitionerPage
from services.web.words import organisations

router = APIRouter()

DONE_KEY = "invitation_answered"


def _invitable(page: Page, child: dict[str, Any]) -> list[dict[str, str]]:
    members = {m.get("organisation_id") for m in child.get("team") or ()}
    return organisations(page.request.app.state.directory, exclude=members)


async def _child_for_inviting(page: Page, child_id: UUID) -> dict[str, Any]:
    child = await load_child(page, child_id)
    if not (is_setting_of(page, child) or on_team(page, child)):
        raise PageNotFound()
    return child


@router.get("/children/{child_id}/invitations/new")
async def invite_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _child_for_inviting(page, child_id)
    return await page.form("team/invite.html", child=child, choices=_invitable(page, child))


@router.post("/children/{child_id}/invitations/new")
async def invite(page: PractitionerPage, child_id: UUID, organisation: Annotated[str, Form()] = "",
                 message: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await _child_for_inviting(page, child_id)
    choices = _invitable(page, child)
    values = {"organisation": organisation, "message": message.strip()}
    errors = FormErrors()
    if organisation not in {o["id"] for o in choices}:
        errors.add("organisation", "Select the organisation to invite")
    errors.check_text("message", message, empty=None, too_long="The message must be 4,000 characters or fewer")
    apis = page.apis
    return await page.submit(
        errors, lambda: apis.referrals.invite(child_id, {"organisation_id": organisation,
                                                         "message": values["message"] or None}),
        done=f"/children/{child_id}", template="team/invite.html", child=child, choices=choices, values=values,
        fields={"organisation_id": "organisation", "message": "message"})


# -- answering an invitation ------------------------------------------------------------------


async def _invitation(page: Page, invitation_id: UUID) -> dict[str, Any]:
    """The caller's organisation's pending invitation (the API lists them; there is no single
    read): anything else is "Page not found"."""
    assert page.apis is not None
    pending = await page.apis.referrals.invitations()
    for item in pending.get("items") or ():
        if str(item.get("invitation_id")) == str(invitation_id):
            return item
    raise PageNotFound()


@router.get("/invitations/{invitation_id}")
async def invitation_page(page: PractitionerPage, invitation_id: UUID) -> Response:
    invitation = await _invitation(page, invitation_id)
    return await page.form("team/invitation.html", invitation=invitation)


@router.post("/invitations/{invitation_id}/accept")
async def accept(page: PractitionerPage, invitation_id: UUID) -> Response:
    assert page.apis is not None
    invitation = await _invitation(page, invitation_id)
    await page.apis.referrals.accept_invitation(invitation_id)
    return RedirectResponse(f"/children/{invitation['child_id']}", status_code=303)


@router.post("/invitations/{invitation_id}/decline")
async def decline(page: PractitionerPage, invitation_id: UUID, reason: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    invitation = await _invitation(page, invitation_id)
    apis = page.apis
    errors = FormErrors()
    values = {"reason": errors.check_text("reason", reason, empty="Enter the reason for declining the invitation",
                                          too_long="The reason must be 4,000 characters or fewer")}

    async def send() -> None:
        await apis.referrals.decline_invitation(invitation_id, {"reason": values["reason"]})
        page.request.session[DONE_KEY] = {"invitation_id": str(invitation_id),
                                          "invited_by": str(invitation.get("invited_by") or "")}

    return await page.submit(errors, send, done=f"/invitations/{invitation_id}/declined", template="team/invitation.html",
                             invitation=invitation, values=values, fields={"reason": "reason"})


@router.get("/invitations/{invitation_id}/declined")
async def declined(page: PractitionerPage, invitation_id: UUID) -> Response:
    done = page.request.session.get(DONE_KEY)
    if not isinstance(done, dict) or done.get("invitation_id") != str(invitation_id):
        return RedirectResponse("/", status_code=303)
    return await page.render("team/declined.html", done=done)
