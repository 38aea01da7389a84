"""What the parent's pages share: the child as the APIs show it to the parent, names, dates,
and a one-shot "done" message kept in the session for the confirmation panel (never in a URL)."""

from __future__ import annotations

from datetime import date, datetime
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi.responses import RedirectResponse, Response

from services.web.templating import UK
from services.web.views.children import load_child, names_for
from services.web.views.deps import Page
from services.web.timeline_words import Names
from services.web.words import AGENCIES, CATEGORIES, PURPOSES

DONE_KEY = "parent_done"


async def parent_child(page: Page, child_id: UUID) -> dict[str, Any]:
    """The child, as the referrals API shows it to this parent (404 -> "Page not found")."""
    child = await load_child(page, child_id)
    child["first_name"] = child.get("given_name") or "your child"
    return child


def base(child: dict[str, Any]) -> str:
    return f"/your-child/{child['child_id']}"


def day(value: Any) -> str:
    """3 December 2026 (UK date of a datetime)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UK).date() if value.tzinfo else value.date()
    return f"{value.day} {value:%B %Y}"


def moment(value: Any) -> str:
    """1 December 2026 at 13:34 (UK time)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(UK) if value.tzinfo else value
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def listing(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def category_phrase(category: str) -> str:
    return {"concern": "concerns", "referral": "referrals and the team", "progress": "progress",
            "health": "health records", "slt": "speech and language reports",
            "ep": "educational psychology advice", "ehc": "the EHC needs assessment and plan",
            "transition": "plans for starting school", "family_support": "family support",
            "consent": "the consents themselves"}.get(category, category.replace("_", " "))


def purpose_phrase(purpose: str) -> str:
    return {"referral": "referral", "assessment": "assessment", "coordination": "coordination",
            "transition": "moving to school"}.get(purpose, purpose)


def agency_plural(agency: str) -> str:
    return AGENCIES.get(agency, agency.replace("_", " "))


def done(page: Page, child_id: UUID, **what: Any) -> None:
    """Keeps, for the confirmation page, what was just done: ids, kinds, dates and organisation
    names only. The session is a cookie (signed, not encrypted): the words naming the child or
    describing a consent are made when the page is shown."""
    page.request.session[DONE_KEY] = {"child_id": str(child_id), **{k: str(v) for k, v in what.items()}}


def take_done(page: Page, child_id: UUID, kind: str, *, needs: tuple[str, ...] = ()) -> dict[str, str] | None:
    """What `done` kept about `kind` of this child, with each of `needs` (a session written by
    an earlier version of the page may lack one: nothing to say then). Once shown, the page
    calls `said_done`."""
    found = page.request.session.get(DONE_KEY)
    if not isinstance(found, dict) or found.get("child_id") != str(child_id) or found.get("kind") != kind:
        return None
    return found if all(isinstance(found.get(key), str) for key in needs) else None


def said_done(page: Page) -> None:
    """The confirmation has been shown: gone from the session, so a later visit to the page does
    not say it again. Called once the page is made, so a failure making it (an API down) leaves
    it to be shown on the next try."""
    page.request.session.pop(DONE_KEY, None)


__all__ = ["AGENCIES", "CATEGORIES", "PURPOSES", "Names", "names_for"]


async def done_page(page: Page, child_id: UUID, kind: str, template: str, otherwise: str = "", *,
                    needs: tuple[str, ...] = (),
                    words: Callable[[dict, dict[str, str]], Awaitable[dict[str, Any]]] | None = None) -> Response:
    """The confirmation that `kind` was done (what `done` kept in the session, with each of
    `needs`); without it, on to the child's page `otherwise` (a path under base(child)).
    `words(child, what)`: more for the template, made as the page is shown (read again from an
    API: the session keeps no case words)."""
    child = await parent_child(page, child_id)
    what = take_done(page, child_id, kind, needs=needs)
    if what is None:
        return RedirectResponse(base(child) + otherwise, status_code=303)
    more = await words(child, what) if words else {}
    shown = await page.render(template, child=child, done=what, **more)
    said_done(page)
    return shown
