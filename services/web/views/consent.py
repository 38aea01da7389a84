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

from services.web.forms import FormErrors
from services.web.templating import UK, date_words
from services.web.views.children import setting_child
from services.web.views.consent_answers import (
    PERIODS, RELATIONSHIP_MAX, RELATIONSHIPS, ErrorWords, Submitted, agencies, blank, expires_at, relationship,
)
from services.web.views.consent_journey import ConsentJourney
from services.web.views.deps import Page, PractitionerPage
from services.web.words import CATEGORIES, PURPOSES, organisations

router = APIRouter()

RECORDED_KEY = "consent_recorded"
ERROR_WORDS = ErrorWords(
    name_missing="Enter the name of the person who gave consent",
    name_too_long="The name must be 200 characters or fewer",
    relationship="Select their relationship to the child",
    relationship_other="Enter their relationship to the child",
    relationship_too_long=f"Their relationship to the child must be {RELATIONSHIP_MAX} characters or fewer",
    pr="Select whether they have parental responsibility",
    purposes="Select at least one purpose",
    period="Select how long the consent lasts",
)


def _render_form(page: Page, child_id: UUID, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    directory = page.request.app.state.directory
    return page.render("consent/new.html", child=child, values=values, errors=errors, status_code=status_code,
                       organisations=organisations(directory), agencies=agencies(), categories=CATEGORIES,
                       purposes=PURPOSES, periods=PERIODS, relationships=RELATIONSHIPS)


def _render_check(page: Page, child_id: UUID, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    now = datetime.now(UK)
    return page.render("consent/check.html", child=child, values=values, errors=errors, status_code=status_code,
                       relationship=relationship(values), agencies=agencies(), categories=CATEGORIES,
                       purposes=PURPOSES, starts=date_words(now), expires=date_words(expires_at(values, now)))


JOURNEY = ConsentJourney(
    prefix="/children", draft_key="consent_draft", error_words=lambda child: ERROR_WORDS,
    form=_render_form, check=_render_check,
    not_yet_known="TAC is still setting up this child’s record. Wait a few seconds, then select “Record consent” again.")


@router.get("/children/{child_id}/consents/new")
async def consent_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await setting_child(page, child_id)
    return await _render_form(page, child_id, child, JOURNEY.draft(page, child_id) or blank(), FormErrors())


@router.post("/children/{child_id}/consents/new")
async def consent_answers(page: PractitionerPage, child_id: UUID, form: Submitted) -> Response:
    return await JOURNEY.answers(page, child_id, await setting_child(page, child_id), form)


@router.get("/children/{child_id}/consents/check")
async def check_answers(page: PractitionerPage, child_id: UUID) -> Response:
    return await JOURNEY.check_page(page, child_id, await setting_child(page, child_id))


@router.post("/children/{child_id}/consents/check")
async def record(page: PractitionerPage, child_id: UUID) -> Response:
    def recorded(consent: dict[str, Any], body: dict[str, Any]) -> str:
        page.request.session[RECORDED_KEY] = {"child_id": str(child_id), "consent_id": str(consent.get("consent_id")),
                                              "expires_at": str(consent.get("expires_at") or body["expires_at"])}
        return f"/children/{child_id}/consents/recorded"

    return await JOURNEY.grant(page, child_id, await setting_child(page, child_id), recorded)


@router.get("/children/{child_id}/consents/recorded")
async def recorded(page: PractitionerPage, child_id: UUID) -> Response:
    child = await setting_child(page, child_id)
    done = page.request.session.get(RECORDED_KEY)
    if not isinstance(done, dict) or done.get("child_id") != str(child_id):
        return RedirectResponse(f"/children/{child_id}", status_code=303)
    return await page.render("consent/recorded.html", child=child, done=done)
