"""Children: find a child among those the caller's organisation works with, register a child
(setting), the child page (UI.md: the centre — name and age where the viewer may see them, the
key person, the team, the timeline the viewer may see with *why*, a category filter, and the
actions the viewer's organisation may take). The setting's forms: views/child_forms.py.

Who may see what is the APIs' answer: a child the viewer may not know is the API's 404, shown
as the same "Page not found" as a made-up id. Buttons follow what the APIs say (the child's
setting vs. the viewer's organisation, the team); the APIs still decide on submit.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from schemas.vocabulary import DSL_ROLE
from services.web.api_clients import ApiError
from services.web.dev_people import DEV_PEOPLE
from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.views.deps import Page, PractitionerPage
from services.web.timeline_words import Names, basis_words, describe
from services.web.words import CATEGORIES, JOINED_THROUGH, role_words

router = APIRouter()

TIMELINE_LIMIT = 1000  # the timeline API's largest page


# -- helpers shared by this area's pages (consent, referrals, team import them) ---------------


def names_for(page: Page) -> Names:
    """Organisation names from the directory; in development, the fictional people of the
    story by their practitioner id (the only people the web honestly knows by name)."""
    people = {p.key: p.name for p in DEV_PEOPLE} if page.settings.development else {}
    return Names(page.request.app.state.directory, people)


UNNAMED = "Child"  # a child whose details the viewer may not see


def child_name(child: dict[str, Any]) -> str:
    if child.get("details_hidden") or not child.get("given_name"):
        return UNNAMED
    return f"{child['given_name']} {child.get('family_name') or ''}".strip()


def age_words(months: int | None) -> str:
    if months is None:
        return ""
    if months < 36:
        return f"{months} months old" if months != 1 else "1 month old"
    years, rest = divmod(months, 12)
    return f"{years} years" + (f", {rest} {'month' if rest == 1 else 'months'}" if rest else "") + " old"


async def load_child(page: Page, child_id: UUID) -> dict[str, Any]:
    """The child as the viewer may see it (404 -> "Page not found", raised by the client)."""
    assert page.apis is not None
    child = await page.apis.referrals.child(child_id)
    child["display_name"] = child_name(child)
    return child


def is_setting_of(page: Page, child: dict[str, Any]) -> bool:
    return bool(page.person and page.person.organisation_id
                and page.person.organisation_id == child.get("setting_organisation_id"))


async def setting_child(page: Page, child_id: UUID) -> dict[str, Any]:
    """The child, for a page only their setting may use (anyone else: "Page not found")."""
    child = await load_child(page, child_id)
    if not is_setting_of(page, child):
        raise PageNotFound()
    return child


def on_team(page: Page, child: dict[str, Any]) -> bool:
    org = page.person.organisation_id if page.person else None
    return bool(org) and any(m.get("organisation_id") == org for m in child.get("team") or ())


# -- find a child -----------------------------------------------------------------------------


NAME_LIMIT = 100  # the children API's longest name to search by


@router.get("/children")
async def find(page: PractitionerPage) -> Response:
    """Every child the organisation works with (as many as the API gives in one page)."""
    return await _found(page, name="", errors=FormErrors())


@router.post("/children")
async def search(page: PractitionerPage, name: Annotated[str, Form()] = "") -> Response:
    """A search by name is a POST: the name typed is a child's, and a GET would put it in the
    address, the browser's history and any proxy's log (UI.md: nothing personal in URLs)."""
    errors = FormErrors()
    name = errors.check_text("name", name, empty=None, too_long=f"The name must be {NAME_LIMIT} characters or fewer",
                             limit=NAME_LIMIT)
    return await _found(page, name=name, errors=errors)


async def _found(page: Page, *, name: str, errors: FormErrors) -> Response:
    assert page.apis is not None
    found = {} if errors else await page.apis.referrals.find_children(name=name or None, limit=200)
    items = [{**item, "display_name": child_name(item), "age": age_words(item.get("age_months"))}
             for item in found.get("items") or ()]
    may_register = bool(page.person and page.person.agency == "setting")
    return await page.render("children/find.html", items=items, total=found.get("total", len(items)), name=name,
                             may_register=may_register, errors=errors, status_code=400 if errors else 200)


# -- the child page ---------------------------------------------------------------------------


@router.get("/children/{child_id}")
async def child_page(page: PractitionerPage, child_id: UUID,
                     category: Annotated[list[str] | None, Query()] = None) -> Response:
    assert page.apis is not None and page.person is not None
    # The three reads do not depend on one another: asked at once, the page waits for the
    # slowest rather than the sum (bench/web_bench.py). Each API still decides alone what the
    # viewer may see; the first error (a 404 for a child the viewer may not know) is the page's.
    child, timeline, pending = await asyncio.gather(
        load_child(page, child_id),
        page.apis.timeline.timeline(child_id, limit=TIMELINE_LIMIT),
        _referrals_waiting(page, child_id))
    entries = list(timeline.get("entries") or ())
    chosen = [c for c in (category or ()) if c in CATEGORIES]
    shown = [e for e in entries if not chosen or e.get("category") in chosen]
    names = names_for(page)
    consents, grants = await _bases(page, child_id, shown, is_setting_of(page, child))
    today = date.today()
    rows = [{"id": e.get("event_id"), "what": describe(e, names), "who": names.who(e.get("author") or {}),
             "when": e.get("occurred_at"), "category": e.get("category"), "basis": e.get("basis"),
             "why": basis_words(str(e.get("basis") or ""), consents, grants, today)} for e in shown]
    team = [{**m, "role_text": role_words(m.get("role")),
             "how": JOINED_THROUGH.get(str(m.get("joined_through")), str(m.get("joined_through") or "").replace("_", " "))}
            for m in child.get("team") or ()]
    return await page.render(
        "children/child.html", child=child, team=team, entries=rows, total=len(entries),
        categories=CATEGORIES, chosen=chosen, actions=_actions(page, child), pending=pending,
        age=age_words(child.get("age_months")))


async def _bases(page: Page, child_id: UUID, entries: list[dict], setting: bool) -> tuple[dict, dict]:
    """Consent and safeguarding details for the "why you can see it" column: the consent list
    is the setting's and parent's to read; others are told "a parent's consent"."""
    assert page.apis is not None
    bases = {str(e.get("basis") or "") for e in entries}

    async def consents() -> dict[str, dict]:
        if not (setting and any(b.startswith("consent:") for b in bases)):
            return {}
        try:
            listed = await page.apis.consent.consents(child_id)
        except ApiError:
            return {}
        return {str(c["consent_id"]): c for c in listed.get("consents") or ()}

    async def grants() -> dict[str, dict]:
        if not any(b.startswith("safeguarding:") for b in bases):
            return {}
        try:
            listed = await page.apis.consent.safeguarding_grants(child_id)
        except ApiError:
            return {}
        return {str(g["grant_id"]): g for g in listed.get("grants") or ()}

    by_consent, by_grant = await asyncio.gather(consents(), grants())
    return by_consent, by_grant


async def _referrals_waiting(page: Page, child_id: UUID) -> list[dict]:
    """Referrals of this child waiting for the viewer's organisation's answer (its caseload)."""
    assert page.apis is not None and page.person is not None
    if page.person.agency == "setting":
        return []
    try:
        caseload = await page.apis.referrals.caseload(kind="referral", limit=200)
    except ApiError:
        return []
    return [i for i in caseload.get("items") or ()
            if str(i.get("child_id")) == str(child_id) and i.get("state") == "made"]


def _actions(page: Page, child: dict[str, Any]) -> list[dict[str, str]]:
    assert page.person is not None
    cid = child["child_id"]
    agency = page.person.agency
    actions: list[dict[str, str]] = []
    if is_setting_of(page, child):
        actions += [
            {"text": "Raise a concern", "href": f"/children/{cid}/concerns/new"},
            {"text": "Record a parent’s consent", "href": f"/children/{cid}/consents/new"},
            {"text": "Refer to another service", "href": f"/children/{cid}/referrals/new"},
            {"text": "Invite an organisation to the team", "href": f"/children/{cid}/invitations/new"},
            {"text": "Name the key person", "href": f"/children/{cid}/key-person"},
            {"text": "Schedule the integrated review", "href": f"/children/{cid}/integrated-reviews/new"},
            {"text": "Plan the move to school", "href": f"/children/{cid}/transition/new"},
            {"text": "Request an EHC needs assessment", "href": f"/children/{cid}/ehc-requests/new"},
        ]
    elif on_team(page, child):
        by_agency = {
            "slt_service": [{"text": "Share a speech and language therapy report", "href": f"/children/{cid}/slt-reports/new"}],
            "ep_service": [{"text": "Share educational psychology advice", "href": f"/children/{cid}/ep-advice/new"}],
            "health_visiting": [{"text": "Schedule the integrated review", "href": f"/children/{cid}/integrated-reviews/new"}],
        }
        actions += by_agency.get(agency, [])
        actions.append({"text": "Invite an organisation to the team", "href": f"/children/{cid}/invitations/new"})
    if page.person.role == DSL_ROLE:
        actions.append({"text": "Safeguarding access", "href": f"/children/{cid}/safeguarding-access/new"})
    return actions
