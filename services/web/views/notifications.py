"""A person's notifications: the inbox, and where else they are told (e-mail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.views.deps import Page, SignedInPage

router = APIRouter(prefix="/notifications")


@router.get("")
async def inbox(page: SignedInPage) -> Response:
    assert page.apis is not None
    found = await page.apis.notifications.inbox(limit=50)
    # The header's count is the one every page asks for as it begins (views.deps), not the
    # unread among these 50: it counts past them, and it is already on its way.
    return await page.render("notifications/inbox.html", items=found.get("items") or [])


@router.get("/email")
async def email_form(page: SignedInPage) -> Response:
    assert page.apis is not None
    current = await _subscription(page)
    return await page.form("notifications/email.html", values={"email": current.get("email") or ""})


@router.post("/email")
async def save_email(page: SignedInPage, email: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    email = email.strip()
    errors = FormErrors()
    if len(email) > 320:
        errors.add("email", "Email address must be 320 characters or fewer")
    if not errors:
        try:
            # The API's PUT replaces the whole subscription: a webhook set through the API is
            # dropped here (its secret is never returned). The API needs a PATCH first.
            await page.apis.notifications.subscribe({"email": email or None})
        except ApiValidationError as e:
            errors = FormErrors.from_api(e, fields={"email": "email"}, messages={
                "email": "Enter an email address in the correct format, like name@example.com"})
    if errors:
        return await page.render("notifications/email.html", values={"email": email}, errors=errors,
                                 status_code=400)
    return RedirectResponse("/notifications", status_code=303)


async def _subscription(page: Page) -> dict:
    # Nobody subscribed yet is a 404: an empty form, not "Page not found".
    assert page.apis is not None
    try:
        return await page.apis.notifications.subscription()
    except NotFound:
        return {}
