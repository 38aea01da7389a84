"""A person's notifications: the inbox, opening one, and where else they are told (e-mail).

A notification is opened from the inbox (`/notifications/{id}`) or from its link in an e-mail
(`/children/{child}/timeline#{entry}`, the notifications service's link under
TAC_TIMELINE_PUBLIC_URL, which is this web interface's address). Either way it lands on the
child's page as the person sees it (a parent's or a practitioner's), at the entry; the page then
asks the timeline, which checks consent again (DESIGN §3): the notification itself never shows
more than its title, the organisation it names, a reminder's due day or a safeguarding grant's
end, and the child's name where the person may see it.
"""

from __future__ import annotations

import asyncio
from datetime import timezone
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse, Response
from pydantic import AwareDatetime

from services.web.api_clients import ApiError, ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.session import SignedInPerson
from services.web.views.children import UNNAMED, child_name
from services.web.views.deps import Page, SignedInPage

router = APIRouter()

INBOX_LIMIT = 50
# The children the inbox names: those the person works with (a parent: their own), as many as
# the children API gives in one page. A child beyond them is named "a child", never by id.
NAMED_CHILDREN = 200


@router.get("/notifications")
async def inbox(page: SignedInPage, before: AwareDatetime | None = None) -> Response:
    """The newest INBOX_LIMIT; `before`, the API's cursor (a time with its offset, as the API
    requires; nothing personal): older ones."""
    assert page.apis is not None
    if before is not None:
        try:  # the API takes a time UTC can hold; past that it answers 422, which is no page's to show
            before = before.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise HTTPException(400) from None
    found, names = await asyncio.gather(page.apis.notifications.inbox(limit=INBOX_LIMIT, before=before),
                                        _child_names(page))
    items = [_inbox_item(item, names) for item in found.get("items") or ()]
    older = found.get("next_before")
    # The header's count is the one every page asks for as it begins (views.deps), not the
    # unread among these 50: it counts past them, and it is already on its way.
    return await page.render("notifications/inbox.html", items=items, newer=before is not None,
                             older=f"/notifications?{urlencode({'before': older})}" if older else None)


@router.get("/notifications/email")
async def email_form(page: SignedInPage) -> Response:
    assert page.apis is not None
    current = await _subscription(page)
    return await page.form("notifications/email.html", values={"email": current.get("email") or ""})


@router.post("/notifications/email")
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


@router.get("/notifications/{notification_id}")
async def open_notification(page: SignedInPage, notification_id: UUID) -> Response:
    """Opening a notification reads it: marked read (the API answers 404 for one that is not
    this person's, shown as "Page not found"), then its entry on the child's page.

    A GET, as following a link is: marking one's own notification read changes nothing anyone
    else sees, and doing it twice is doing it once."""
    assert page.apis is not None and page.person is not None
    item = await page.apis.notifications.mark_read(notification_id)
    return RedirectResponse(entry_page(page.person, item["child_id"], item["about_event_id"]), status_code=303)


@router.get("/children/{child_id}/timeline")
async def timeline_link(page: SignedInPage, child_id: UUID) -> Response:
    """Where a notification's link lands: the child's page as this person sees it. The browser
    keeps the link's #entry across the redirect. Whether the person may see the child at all is
    that page's question (the APIs' 404 is "Page not found")."""
    assert page.person is not None
    return RedirectResponse(persons_child_page(page.person, child_id), status_code=303)


def persons_child_page(person: SignedInPerson, child_id: UUID | str) -> str:
    return f"/your-child/{child_id}" if person.is_parent else f"/children/{child_id}"


def entry_page(person: SignedInPerson, child_id: UUID | str, event_id: UUID | str) -> str:
    """The entry on the child's page: each entry's id there is its event id, the fragment of
    the link in every message (services.notifications.domain.messages.timeline_link)."""
    return f"{persons_child_page(person, child_id)}#{event_id}"


def _inbox_item(item: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {"href": f"/notifications/{item['notification_id']}", "title": item["title"],
            "organisation": item.get("organisation_name"), "child": names.get(str(item["child_id"])),
            "due_on": item.get("due_on"), "until": item.get("until"),
            "created_at": item["created_at"], "unread": not item.get("read_at")}


async def _child_names(page: Page) -> dict[str, str]:
    """Child id -> name, for the children the person works with and may see named. Without
    them (the referrals API down) the inbox still shows, with "a child" for each."""
    assert page.apis is not None
    try:
        found = await page.apis.referrals.find_children(limit=NAMED_CHILDREN)
    except ApiError:
        return {}
    named = ((str(child["child_id"]), child_name(child)) for child in found.get("items") or ())
    return {child_id: name for child_id, name in named if name != UNNAMED}


async def _subscription(page: Page) -> dict:
    # Nobody subscribed yet is a 404: an empty form, not "Page not found".
    assert page.apis is not None
    try:
        return await page.apis.notifications.subscription()
    except NotFound:
        return {}
