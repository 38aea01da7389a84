"""Sharing a report with the team around the child (UI.md): a speech and language therapy
report (assessment summary, programme, recommendations one a line) by an SLT service, and
educational psychology advice (summary, recommendations) by an EP service. Each shares the
child's information, so a check-your-answers page comes before it. Who may share is the
referrals API's decision (403/404 are pages that say so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.views.casework_common import child_view, form_then_check, lines, read_form
from services.web.views.deps import Page, PractitionerPage

router = APIRouter()

MAX_TEXT = 4000
MAX_ITEMS = 50
MAX_ITEM = 1000


def _text(form: dict[str, Any], name: str, field_id: str, empty: str, what: str, errors: FormErrors) -> str:
    value = str(form.get(name) or "").strip()
    if not value:
        errors.add(field_id, empty)
    elif len(value) > MAX_TEXT:
        errors.add(field_id, f"{what} must be {MAX_TEXT:,} characters or fewer")
    return value


def _recommendations(form: dict[str, Any], errors: FormErrors) -> list[str]:
    items = lines(str(form.get("recommendations") or ""))
    if len(items) > MAX_ITEMS:
        errors.add("recommendations", f"Write at most {MAX_ITEMS} recommendations, one a line")
    elif any(len(i) > MAX_ITEM for i in items):
        errors.add("recommendations", f"Each recommendation must be {MAX_ITEM:,} characters or fewer")
    return items


async def _form(page: Page, child_id: UUID, template: str) -> Response:
    child = await child_view(page, child_id)
    return await page.render(template, child=child, values={}, errors=FormErrors())


async def _share(
    page: Page, child_id: UUID, *, template: str, validate: Callable[[dict[str, Any], FormErrors], dict[str, Any]],
    check: Callable[[dict[str, Any]], dict[str, Any]], send: Callable[[Any, dict[str, Any]], Awaitable[Any]],
    fields: dict[str, str],
) -> Response:
    """A report posted: checked by `validate`, shown on check your answers (`check`'s heading,
    rows, confirm and note, captioned with the child), shared with `send(apis, body)`, then back
    to the child's page."""
    assert page.apis is not None
    apis = page.apis
    child = await child_view(page, child_id)
    form = await read_form(page)
    return await form_then_check(
        page, form, template=template, context={"child": child}, validate=validate,
        check=lambda body: {"caption": child.title, **check(body)}, send=lambda body: send(apis, body),
        done=lambda _: f"/children/{child_id}", fields=fields)


# --- SLT report ----------------------------------------------------------------------------


@router.get("/children/{child_id}/slt-reports/new")
async def slt_report_form(child_id: UUID, page: PractitionerPage) -> Response:
    return await _form(page, child_id, "reports/slt.html")


@router.post("/children/{child_id}/slt-reports/new")
async def share_slt_report(child_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        return {"assessment_summary": _text(f, "assessment_summary", "assessment-summary",
                                            "Enter a summary of the assessment", "The assessment summary", errors),
                "programme": _text(f, "programme", "programme", "Enter the programme for the setting and home",
                                   "The programme", errors),
                "recommendations": _recommendations(f, errors)}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": "Share a speech and language therapy report",
                "rows": [("Assessment summary", body["assessment_summary"]), ("Programme", body["programme"]),
                         ("Recommendations", body["recommendations"])],
                "confirm": "Share the report",
                "note": "The report goes on the child’s timeline. Who on the team sees it is decided by the "
                        "family’s consent."}

    return await _share(
        page, child_id, template="reports/slt.html", validate=validate, check=check,
        send=lambda apis, body: apis.referrals.share_slt_report(child_id, body),
        fields={"assessment_summary": "assessment-summary", "programme": "programme",
                "recommendations": "recommendations"})


# --- EP advice -----------------------------------------------------------------------------


@router.get("/children/{child_id}/ep-advice/new")
async def ep_advice_form(child_id: UUID, page: PractitionerPage) -> Response:
    return await _form(page, child_id, "reports/ep_advice.html")


@router.post("/children/{child_id}/ep-advice/new")
async def share_ep_advice(child_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        return {"summary": _text(f, "summary", "summary", "Enter a summary of your advice", "The summary", errors),
                "recommendations": _recommendations(f, errors)}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": "Share educational psychology advice",
                "rows": [("Summary", body["summary"]), ("Recommendations", body["recommendations"])],
                "confirm": "Share the advice",
                "note": "The advice goes on the child’s timeline. Who on the team sees it is decided by the "
                        "family’s consent."}

    return await _share(
        page, child_id, template="reports/ep_advice.html", validate=validate, check=check,
        send=lambda apis, body: apis.referrals.share_ep_advice(child_id, body),
        fields={"summary": "summary", "recommendations": "recommendations"})
