"""Who has looked: the child's access log as sentences — who, which organisation, how many
entries, when, and on what basis in words ("because of the consent you gave on …") — newest
first, paged here (the API answers the latest reads up to its page size). Reads under
safeguarding access are left out by the API, as the information-sharing advice says."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.web.api_clients import ApiError
from services.web.views.deps import Page, ParentPage
from services.web.views.parent.common import Names, day, listing, moment, names_for, parent_child

router = APIRouter()

PER_PAGE = 20
LOG_LIMIT = 1000  # the timeline API's largest page


def _consent_reason(consent: dict[str, Any] | None, page: Page) -> str:
    if not consent:
        return "a consent given for your child"
    by = consent.get("recorded_by") or {}
    mine = by.get("agency") == "parent" and page.person is not None and by.get("practitioner_id") == page.person.practitioner_id
    given = day(consent.get("valid_from") or consent.get("recorded_at"))
    if mine or consent.get("recorded_on_behalf"):
        text = f"the consent you gave on {given}"
    else:
        text = f"the consent given on {given}"
    if consent.get("status") == "withdrawn":
        text += " (since withdrawn)"
    return text


def basis_reason(basis: str, count: int, consents: dict[str, dict], page: Page) -> str:
    entries = "1 entry" if count == 1 else f"{count} entries"
    if basis == "own":
        return f"{entries} their organisation wrote"
    if basis == "own_request":
        return f"{entries} answering their organisation’s request"
    if basis == "parent":
        return f"{entries} as your child’s parent"
    kind, _, ident = basis.partition(":")
    if kind == "consent":
        return f"{entries} because of {_consent_reason(consents.get(ident), page)}"
    return f"{entries} shown by TAC"


def sentence(view: dict[str, Any], names: Names, consents: dict[str, dict], page: Page) -> dict[str, str]:
    viewer = view.get("viewer") or {}
    shown = int(view.get("entries_shown") or 0)
    if viewer.get("agency") == "parent":
        mine = page.person is not None and viewer.get("practitioner_id") == page.person.practitioner_id
        who = "You" if mine else (names.person(viewer.get("practitioner_id")) or "A parent")
    else:
        org = viewer.get("organisation_name") or names.org(viewer.get("organisation_id"))
        person = names.person(viewer.get("practitioner_id"))
        who = f"{person}, {org}," if person else f"Someone at {org}"
    entries = "1 entry" if shown == 1 else f"{shown} entries"
    bases = view.get("bases") or {}
    reasons = [basis_reason(b, n, consents, page) for b, n in sorted(bases.items(), key=lambda kv: -kv[1]) if n]
    text = f"{who} looked at {entries} on {moment(view['viewed_at'])}"
    if shown == 0:
        text += " and saw nothing"
    return {"text": text, "why": listing(reasons), "at": str(view.get("viewed_at"))}


@router.get("/your-child/{child_id}/who-has-looked")
async def who_has_looked(page: ParentPage, child_id: UUID,
                         page_number: Annotated[int, Query(alias="page", ge=1, le=1000)] = 1) -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    log = await page.apis.timeline.access_log(child_id, limit=LOG_LIMIT)
    try:
        consents = {str(c["consent_id"]): c for c in (await page.apis.consent.consents(child_id)).get("consents") or ()}
    except ApiError:
        consents = {}
    names = names_for(page)
    views = sorted(log.get("views") or (), key=lambda v: str(v.get("viewed_at")), reverse=True)
    rows = [sentence(v, names, consents, page) for v in views]
    pages = max(1, -(-len(rows) // PER_PAGE))
    current = min(page_number, pages)
    shown = rows[(current - 1) * PER_PAGE: current * PER_PAGE]
    return await page.render("parent/who_has_looked.html", child=child, rows=shown, total=len(rows),
                             current_page=current, pages=pages)
