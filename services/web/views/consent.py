"""Recording a parent's consent on their behalf (the setting; UI.md, DESIGN §3): who gave it,
their relationship and parental responsibility; which organisations or kinds of agency may see
which categories, in plain English; purpose; period. A check-your-answers page comes before
anything is recorded (the draft is kept in the session, never in the URL), then a
confirmation panel."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.templating import UK, date_words
from services.web.views.children import is_setting_of, load_child
from services.web.views.consent_answers import (
    API_FIELDS, PERIODS, RELATIONSHIPS, ErrorWords, Submitted, agencies, blank, drafts, expires_at, grant_body,
    read_answers, relationship,
)
from services.web.views.deps import Page, PractitionerPage
from services.web.words import CATEGORIES, PURPOSES, organisations

router = APIRouter()

DRAFT_KEY = "consent_draft"
RECORDED_KEY = "consent_recorded"
ERROR_WORDS = ErrorWords(
    name_missing="Enter the name of the person who gave consent",
    name_too_long="The name must be 200 characters or fewer",
    relationship="Select their relationship to the child",
    relationship_other="Enter their relationship to the child",
    pr="Select whether they have parental responsibility",
    purposes="Select at least one purpose",
    period="Select how long the consent lasts",
)


async def _setting_child(page: Page, child_id: UUID) -> dict[str, Any]:
    from services.web.pages import PageNotFound

    child = await load_child(page, child_id)
    if not is_setting_of(page, child):
        raise PageNotFound()
    return child


def _render_form(page: Page, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    directory = page.request.app.state.directory
    return page.render("consent/new.html", child=child, values=values, errors=errors, status_code=status_code,
                       organisations=organisations(directory), agencies=agencies(), categories=CATEGORIES,
                       purposes=PURPOSES, periods=PERIODS, relationships=RELATIONSHIPS)


@router.get("/children/{child_id}/consents/new")
async def consent_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _setting_child(page, child_id)
    values = drafts(page, DRAFT_KEY).get(str(child_id)) or blank()
    return await _render_form(page, child, values, FormErrors())


@router.post("/children/{child_id}/consents/new")
async def consent_answers(page: PractitionerPage, child_id: UUID, form: Submitted) -> Response:
    child = await _setting_child(page, child_id)
    values, errors = read_answers(form, page.request.app.state.directory, ERROR_WORDS)
    if errors:
        return await _render_form(page, child, values, errors, status_code=400)
    # One draft at a time, so the session cookie stays small.
    page.request.session[DRAFT_KEY] = {str(child_id): values}
    return RedirectResponse(f"/children/{child_id}/consents/check", status_code=303)


@router.get("/children/{child_id}/consents/check")
async def check_answers(page: PractitionerPage, child_id: UUID) -> Response:
    child = await _setting_child(page, child_id)
    values = drafts(page, DRAFT_KEY).get(str(child_id))
    if not values:
        return RedirectResponse(f"/children/{child_id}/consents/new", status_code=303)
    return await _render_check(page, child, values, FormErrors())


def _render_check(page: Page, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    now = datetime.now(UK)
    return page.render("consent/check.html", child=child, values=values, errors=errors, status_code=status_code,
                       relationship=relationship(values), agencies=agencies(), categories=CATEGORIES,
                       purposes=PURPOSES, starts=date_words(now), expires=date_words(expires_at(values, now)))


@router.post("/children/{child_id}/consents/check")
async def record(page: PractitionerPage, child_id: UUID) -> Response:
    assert page.apis is not None
    child = await _setting_child(page, child_id)
    values = drafts(page, DRAFT_KEY).get(str(child_id))
    if not values:
        return RedirectResponse(f"/children/{child_id}/consents/new", status_code=303)
    body = grant_body(values, datetime.now(UK))
    try:
        consent = await page.apis.consent.grant_consent(child_id, body)
    except ApiValidationError as e:
        errors = FormErrors.from_api(e, fields=API_FIELDS)
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

