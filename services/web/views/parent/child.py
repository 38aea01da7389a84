"""My child: the parent's home. The child, the key person as the family's first contact
(DESIGN §1), and the whole timeline in plain English — what happened, who did it, from which
organisation, when — newest first, filterable by kind of information."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from services.web.views.children import TIMELINE_LIMIT, child_name
from services.web.views.deps import Page, ParentPage
from services.web.views.parent.common import CATEGORIES, Names, day, moment, names_for, parent_child
from services.web.timeline_words import describe

router = APIRouter()

OBSERVATION = "parent_observation_shared"
PARENT_VIEWS = "ehc_parent_views_given"
EHC_REQUESTED = "ehc_assessment_requested"


def kind_of(entry: dict[str, Any]) -> str:
    t = str(entry.get("type") or "")
    return t.split(".")[2] if t.count(".") >= 3 else ""


def what_happened(entry: dict[str, Any], names: Names) -> str:
    d = entry.get("data") or {}
    kind = kind_of(entry)
    if kind == OBSERVATION:
        seen = f" (seen on {day(d['seen_on'])})" if d.get("seen_on") else ""
        return f"What we see at home{seen}: {d.get('text', '')}"
    if kind == PARENT_VIEWS:
        text = f"Views for the EHC needs assessment: {d.get('parent_views', '')}"
        return text + (f" The child’s views: {d['child_views']}" if d.get("child_views") else "")
    if kind == EHC_REQUESTED:
        return f"EHC needs assessment requested from {names.org(d.get('la_organisation_id'))}"
    if kind == "ehc_assessment_started":
        return "The local authority decided to carry out the EHC needs assessment"
    if kind == "ehc_advice_requested":
        return f"Advice for the EHC needs assessment asked of {names.org(d.get('from_organisation_id'))}"
    if kind == "integrated_review_scheduled":
        return "Integrated review at two planned"
    if kind == "integrated_review_completed":
        return "Integrated review at two done"
    return describe(entry, names)


def who_did_it(entry: dict[str, Any], names: Names, page: Page) -> tuple[str, str]:
    """(person, organisation) in words; the parent's own entries are "You"."""
    author = entry.get("author") or {}
    if author.get("agency") == "parent":
        mine = page.person is not None and author.get("practitioner_id") == page.person.practitioner_id
        return ("You" if mine else (names.person(author.get("practitioner_id")) or "A parent"), "")
    org = author.get("organisation_name") or names.org(author.get("organisation_id"))
    person = names.person(author.get("practitioner_id")) or f"Someone at {org}"
    return person, org


async def timeline_rows(page: Page, child_id: UUID) -> list[dict[str, Any]]:
    assert page.apis is not None
    found = await page.apis.timeline.timeline(child_id, limit=TIMELINE_LIMIT)
    names = names_for(page)
    rows = []
    for e in found.get("entries") or ():
        person, org = who_did_it(e, names, page)
        rows.append({"id": e.get("event_id"), "kind": kind_of(e), "what": what_happened(e, names), "person": person,
                     "org": org, "when": moment(e["occurred_at"]) if e.get("occurred_at") else "",
                     "at": str(e.get("occurred_at") or ""), "category": e.get("category"), "data": e.get("data") or {}})
    rows.sort(key=lambda r: r["at"], reverse=True)  # newest first (the API's order, kept if it changes)
    return rows


def ehc_requests(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """EHC needs assessment requests on the timeline, and whether the parent has given views."""
    given = {str(r["data"].get("request_id")) for r in rows if r["kind"] == PARENT_VIEWS}
    return [{"request_id": str(r["data"].get("request_id")), "requested": r["when"].split(" at ")[0],
             "views_given": str(r["data"].get("request_id")) in given}
            for r in rows if r["kind"] == EHC_REQUESTED and r["data"].get("request_id")]


@router.get("/your-child")
async def your_children(page: ParentPage) -> Response:
    assert page.apis is not None and page.person is not None
    found = await page.apis.referrals.find_children(limit=50)
    items = [{**i, "display_name": child_name(i)} for i in found.get("items") or ()]
    if len(items) == 1:
        return RedirectResponse(f"/your-child/{items[0]['child_id']}", status_code=303)
    return await page.render("parent/children.html", items=items)


@router.get("/your-child/{child_id}")
async def my_child(page: ParentPage, child_id: UUID,
                   category: Annotated[list[str] | None, Query()] = None) -> Response:
    child = await parent_child(page, child_id)
    rows = await timeline_rows(page, child_id)
    chosen = [c for c in (category or ()) if c in CATEGORIES]
    shown = [r for r in rows if not chosen or r["category"] in chosen]
    present = [c for c in CATEGORIES if any(r["category"] == c for r in rows)]
    return await page.render("parent/child.html", child=child, entries=shown, total=len(rows), chosen=chosen,
                             categories=CATEGORIES, present=present, ehc=ehc_requests(rows))
