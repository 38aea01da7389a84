"""Recording a parent's consent on their behalf (the setting; UI.md, DESIGN §3): who gave it,
their relationship and parental responsibility; which organisations or kinds of agency may see
which categories, in plain English; purpose; period. A check-your-answers page comes before
anything is recorded (the draft is kept in the session, never in the URL), then a
confirmation panel."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.templating import UK
from services.web.views.children import is_setting_of, load_child
from services.web.views.deps import Page, PractitionerPage
from services.web.words import AGENCIES, CATEGORIES, PURPOSES, organisations

router = APIRouter()

DRAFT_KEY = "consent_draft"
RECORDED_KEY = "consent_recorded"
PERIODS = {"12": "12 months (consent is reviewed every year)", "6": "6 months", "3": "3 months"}
RELATIONSHIPS = ("mother", "father", "carer", "guardian", "other")

_API_FIELDS = {
    "given_by.name": "given-by-name", "given_by.relationship": "relationship",
    "given_by.has_parental_responsibility": "pr", "recipients": "organisations",
    "recipients.organisation_ids": "organisations", "recipients.agencies": "agencies",
    "categories": "categories", "purposes": "purposes", "expires_at": "period", "valid_from": "period",
}


def _agencies() -> dict[str, str]:
    return {k: v for k, v in AGENCIES.items() if k != "parent"}


async def _setting_child(page: Page, child_id: UUID) -> dict[str, Any]:
    from services.web.pages import PageNotFound

    child = await load_child(page, child_id)
    if not is_setting_of(page, child):
        raise PageNotFound()
    return child


def _drafts(page: Page) -> dict[str, Any]:
    drafts = page.request.session.get(DRAFT_KEY)
    return drafts if isinstance(drafts, dict) else {}


def _render_form(page: Page, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    directory = page.request.app.state.directory
    return page.render("consent/new.html", child=child, values=values, errors=errors, status_code=status_code,
                       organisations=organisations(directory), agencies=_agencies(), categories=CATEGORIES,
                       purposes=PURPOSES, periods=PERIODS, relationships=RELATIONSHIPS)


@router.get("/children/{child_id}/consents/new")
async def consent_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _setting_child(page, child_id)
    values = _drafts(page).get(str(child_id)) or {"organisations": [], "agencies": [], "categories": [],
                                                  "purposes": [], "period": "12"}
    return await _render_form(page, child, values, FormErrors())


@router.post("/children/{child_id}/consents/new")
async def consent_answers(
    page: PractitionerPage, child_id: UUID,
    given_by_name: Annotated[str, Form()] = "",
    relationship: Annotated[str, Form()] = "",
    relationship_other: Annotated[str, Form()] = "",
    pr: Annotated[str, Form()] = "",
    organisation: Annotated[list[str] | None, Form()] = None,
    agency: Annotated[list[str] | None, Form()] = None,
    category: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[list[str] | None, Form()] = None,
    period: Annotated[str, Form()] = "12",
) -> Response:
    child = await _setting_child(page, child_id)
    directory = page.request.app.state.directory
    values = {
        "given_by_name": given_by_name.strip(), "relationship": relationship.strip(),
        "relationship_other": relationship_other.strip(), "pr": pr,
        "organisations": [o for o in organisation or () if o in directory],
        "agencies": [a for a in agency or () if a in _agencies()],
        "categories": [c for c in category or () if c in CATEGORIES],
        "purposes": [p for p in purpose or () if p in PURPOSES],
        "period": period if period in PERIODS else "",
    }
    errors = FormErrors()
    if not values["given_by_name"]:
        errors.add("given-by-name", "Enter the name of the person who gave consent")
    elif len(values["given_by_name"]) > 200:
        errors.add("given-by-name", "The name must be 200 characters or fewer")
    if values["relationship"] not in RELATIONSHIPS:
        errors.add("relationship", "Select their relationship to the child")
    elif values["relationship"] == "other" and not values["relationship_other"]:
        errors.add("relationship-other", "Enter their relationship to the child")
    if pr not in ("yes", "no"):
        errors.add("pr", "Select whether they have parental responsibility")
    if not values["organisations"] and not values["agencies"]:
        errors.add("organisations", "Select at least one organisation or kind of service")
    if not values["categories"]:
        errors.add("categories", "Select at least one kind of information")
    if not values["purposes"]:
        errors.add("purposes", "Select at least one purpose")
    if not values["period"]:
        errors.add("period", "Select how long the consent lasts")
    if errors:
        return await _render_form(page, child, values, errors, status_code=400)
    # One draft at a time, so the session cookie stays small.
    page.request.session[DRAFT_KEY] = {str(child_id): values}
    return RedirectResponse(f"/children/{child_id}/consents/check", status_code=303)


def _relationship(values: dict) -> str:
    return values["relationship_other"] if values["relationship"] == "other" else values["relationship"]


def months_after(start: datetime, months: int) -> datetime:
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = start.day
    while True:
        try:
            return start.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1


def _expires_at(values: dict, now: datetime) -> datetime:
    # The end of the day in UK time, `period` months from today.
    end_day = months_after(now.astimezone(UK), int(values["period"])).date()
    return datetime.combine(end_day, time(23, 59), tzinfo=UK)


@router.get("/children/{child_id}/consents/check")
async def check_answers(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _setting_child(page, child_id)
    values = _drafts(page).get(str(child_id))
    if not values:
        return RedirectResponse(f"/children/{child_id}/consents/new", status_code=303)
    return await _render_check(page, child, values, FormErrors())


def _render_check(page: Page, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    now = datetime.now(UK)
    return page.render("consent/check.html", child=child, values=values, errors=errors, status_code=status_code,
                       relationship=_relationship(values), agencies=_agencies(), categories=CATEGORIES,
                       purposes=PURPOSES, periods=PERIODS, starts=now, expires=_expires_at(values, now))


@router.post("/children/{child_id}/consents/check")
async def record(page: PractitionerPage, child_id: UUID) -> Response:
    assert page.apis is not None
    child = await _setting_child(page, child_id)
    values = _drafts(page).get(str(child_id))
    if not values:
        return RedirectResponse(f"/children/{child_id}/consents/new", status_code=303)
    now = datetime.now(UK)
    body = {
        "given_by": {"name": values["given_by_name"], "relationship": _relationship(values),
                     "has_parental_responsibility": values["pr"] == "yes"},
        "recipients": {"organisation_ids": values["organisations"], "agencies": values["agencies"]},
        "categories": values["categories"], "purposes": values["purposes"],
        "expires_at": _expires_at(values, now).isoformat(),
    }
    try:
        consent = await page.apis.consent.grant_consent(child_id, body)
    except ApiValidationError as e:
        errors = FormErrors.from_api(e, fields=_API_FIELDS)
        return await _render_form(page, child, values, errors, status_code=400)
    except NotFound:
        # The consent service learns of a child from its registration event: a child registered
        # a moment ago may not have reached it yet. The answers are kept.
        errors = FormErrors().add(None, "TAC is still setting up this child’s record. Wait a few seconds, then select "
                                        "“Record consent” again.")
        return await _render_check(page, child, values, errors, status_code=503)
    page.request.session.pop(DRAFT_KEY, None)
    page.request.session[RECORDED_KEY] = {"child_id": str(child_id), "consent_id": str(consent.get("consent_id")),
                                          "expires_at": str(consent.get("expires_at") or body["expires_at"])}
    return RedirectResponse(f"/children/{child_id}/consents/recorded", status_code=303)


@router.get("/children/{child_id}/consents/recorded")
async def recorded(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _setting_child(page, child_id)
    done = page.request.session.get(RECORDED_KEY)
    if not isinstance(done, dict) or done.get("child_id") != str(child_id):
        return RedirectResponse(f"/children/{child_id}", status_code=303)
    return await page.render("consent/recorded.html", child=child, done=done)

