"""Referrals: the setting refers a child to an organisation from the directory; the receiver
reads the referral and accepts it, or declines it with a reason (from "Your work" and from the
child page). A referral the viewer may not know is the API's 404: "Page not found"; one already
answered is the API's 409: a page saying what happened."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import NotFound
from services.web.forms import FormErrors
from services.web.views.children import load_child, setting_child
from services.web.views.deps import Page, PractitionerPage
from services.web.words import organisations

router = APIRouter()

DONE_KEY = "referral_answered"
_REASON_TOO_LONG = "The reason must be 4,000 characters or fewer"


def _receivers(page: Page) -> list[dict[str, str]]:
    own = page.person.organisation_id if page.person else None
    return [o for o in organisations(page.request.app.state.directory, exclude=[own] if own else [])
            if o["agency"] != "setting"]


@router.get("/children/{child_id}/referrals/new")
async def referral_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await setting_child(page, child_id)
    return await page.form("referrals/new.html", child=child, receivers=_receivers(page))


@router.post("/children/{child_id}/referrals/new")
async def refer(page: PractitionerPage, child_id: UUID, to_organisation: Annotated[str, Form()] = "",
                reason: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await setting_child(page, child_id)
    receivers = {o["id"]: o for o in _receivers(page)}
    values = {"to_organisation": to_organisation, "reason": reason.strip()}
    errors = FormErrors()
    if to_organisation not in receivers:
        errors.add("to-organisation", "Select the service to refer to")
    errors.check_text("reason", reason, empty="Enter the reason for the referral", too_long=_REASON_TOO_LONG)
    apis = page.apis
    receiver = receivers.get(to_organisation) or {}
    return await page.submit(
        errors, lambda: apis.referrals.make_referral(child_id, {
            "to_organisation_id": receiver.get("id"), "to_agency": receiver.get("agency"), "reason": values["reason"]}),
        done=f"/children/{child_id}", template="referrals/new.html", child=child,
        receivers=list(receivers.values()), values=values,
        fields={"to_organisation_id": "to-organisation", "to_agency": "to-organisation", "reason": "reason"})


# -- the receiver's side ----------------------------------------------------------------------


async def _referral(page: Page, referral_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    assert page.apis is not None
    referral = await page.apis.referrals.referral(referral_id)
    try:
        child = await load_child(page, UUID(str(referral["child_id"])))
    except NotFound:
        # The receiver of a referral waiting for its answer may read the referral but not yet
        # the child (it is not on the team until it accepts).
        child = {"child_id": referral["child_id"], "display_name": "Child", "details_hidden": True}
    return referral, child


def _is_receiver(page: Page, referral: dict[str, Any]) -> bool:
    return bool(page.person and referral.get("to_organisation_id") == page.person.organisation_id)


@router.get("/referrals/{referral_id}")
async def referral_page(page: PractitionerPage, referral_id: UUID) -> Response:
    referral, child = await _referral(page, referral_id)
    may_answer = _is_receiver(page, referral) and referral.get("state") == "made"
    return await page.render("referrals/referral.html", referral=referral, child=child, may_answer=may_answer)


@router.get("/referrals/{referral_id}/answered")
async def answered_page(page: PractitionerPage, referral_id: UUID) -> Response:
    """The confirmation after an answer. A declined referral's child may no longer be one the
    receiver knows, so nothing about it is read again: the panel says what was done."""
    done = page.request.session.get(DONE_KEY)
    if not isinstance(done, dict) or done.get("referral_id") != str(referral_id):
        return RedirectResponse("/", status_code=303)
    child = None
    if done.get("answer") == "accepted":
        child = await load_child(page, UUID(done["child_id"]))
    return await page.render("referrals/answered.html", done=done, child=child)


@router.post("/referrals/{referral_id}/accept")
async def accept(page: PractitionerPage, referral_id: UUID) -> Response:
    assert page.apis is not None
    referral = await page.apis.referrals.referral(referral_id)
    await page.apis.referrals.accept_referral(referral_id)
    _answered(page, referral, "accepted")
    return RedirectResponse(f"/referrals/{referral_id}/answered", status_code=303)


def _answered(page: Page, referral: dict[str, Any], answer: str) -> None:
    page.request.session[DONE_KEY] = {"referral_id": str(referral["referral_id"]), "answer": answer,
                                      "child_id": str(referral["child_id"]),
                                      "from": str(referral.get("from_organisation_name") or "")}


@router.get("/referrals/{referral_id}/decline")
async def decline_form(page: PractitionerPage, referral_id: UUID) -> Response:
    referral, child = await _referral(page, referral_id)
    return await page.form("referrals/decline.html", referral=referral, child=child)


@router.post("/referrals/{referral_id}/decline")
async def decline(page: PractitionerPage, referral_id: UUID, reason: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    apis = page.apis
    errors = FormErrors()
    values = {"reason": errors.check_text("reason", reason, empty="Enter the reason for declining the referral",
                                          too_long=_REASON_TOO_LONG)}
    referral, child = await _referral(page, referral_id)

    async def send() -> None:
        await apis.referrals.decline_referral(referral_id, {"reason": values["reason"]})
        _answered(page, referral, "declined")

    return await page.submit(errors, send, done=f"/referrals/{referral_id}/answered", template="referrals/decline.html",
                             referral=referral, child=child, values=values, fields={"reason": "reason"})
