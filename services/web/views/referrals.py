"""Referrals: the setting refers a child to an organisation from the directory; the receiver
reads the referral and accepts it, or declines it with a reason (from "Your work" and from the
child page). A referral the viewer may not know is the API's 404: "Page not found"; one already
answered is the API's 409: a page saying what happened."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.views.children import is_setting_of, load_child
from services.web.views.deps import Page, PractitionerPage
from services.web.words import organisations

router = APIRouter()

DONE_KEY = "referral_answered"


def _receivers(page: Page) -> list[dict[str, str]]:
    own = page.person.organisation_id if page.person else None
    return [o for o in organisations(page.request.app.state.directory, exclude=[own] if own else [])
            if o["agency"] != "setting"]


@router.get("/children/{child_id}/referrals/new")
async def referral_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _setting_child(page, child_id)
    return await page.render("referrals/new.html", child=child, receivers=_receivers(page), values={},
                             errors=FormErrors())


@router.post("/children/{child_id}/referrals/new")
async def refer(page: PractitionerPage, child_id: UUID, to_organisation: Annotated[str, Form()] = "",
                reason: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await _setting_child(page, child_id)
    receivers = {o["id"]: o for o in _receivers(page)}
    values = {"to_organisation": to_organisation, "reason": reason.strip()}
    errors = FormErrors()
    if to_organisation not in receivers:
        errors.add("to-organisation", "Select the service to refer to")
    if not values["reason"]:
        errors.add("reason", "Enter the reason for the referral")
    elif len(values["reason"]) > 4000:
        errors.add("reason", "The reason must be 4,000 characters or fewer")
    if not errors:
        receiver = receivers[to_organisation]
        try:
            await page.apis.referrals.make_referral(child_id, {
                "to_organisation_id": receiver["id"], "to_agency": receiver["agency"], "reason": values["reason"]})
            return RedirectResponse(f"/children/{child_id}", status_code=303)
        except ApiValidationError as e:
            errors = FormErrors.from_api(e, fields={"to_organisation_id": "to-organisation", "to_agency": "to-organisation",
                                                    "reason": "reason"})
    return await page.render("referrals/new.html", child=child, receivers=list(receivers.values()), values=values,
                             errors=errors, status_code=400)


async def _setting_child(page: Page, child_id: UUID) -> dict[str, Any]:
    from services.web.pages import PageNotFound

    child = await load_child(page, child_id)
    if not is_setting_of(page, child):
        raise PageNotFound()
    return child


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
    return await page.render("referrals/decline.html", referral=referral, child=child, values={}, errors=FormErrors())


@router.post("/referrals/{referral_id}/decline")
async def decline(page: PractitionerPage, referral_id: UUID, reason: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    values = {"reason": reason.strip()}
    errors = FormErrors()
    if not values["reason"]:
        errors.add("reason", "Enter the reason for declining the referral")
    elif len(values["reason"]) > 4000:
        errors.add("reason", "The reason must be 4,000 characters or fewer")
    referral, child = await _referral(page, referral_id)
    if not errors:
        try:
            await page.apis.referrals.decline_referral(referral_id, {"reason": values["reason"]})
            _answered(page, referral, "declined")
            return RedirectResponse(f"/referrals/{referral_id}/answered", status_code=303)
        except ApiValidationError as e:
            errors = FormErrors.from_api(e, fields={"reason": "reason"})
    return await page.render("referrals/decline.html", referral=referral, child=child, values=values, errors=errors,
                             status_code=400)
