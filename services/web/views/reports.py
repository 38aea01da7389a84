"""Sharing a report with the team around the child (UI.md): a speech and language therapy
report (assessment summary, programme, recommendations one a line) by an SLT service, and
educational psychology advice (summary, recommendations) by an EP service. Each shares the
child's information, so a check-your-answers page comes before it. Who may share is the
referrals API's decision (403/404 are pages that say so)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.views.casework_common import child_action, child_view
from services.web.views.deps import Page, PractitionerPage
from services.web.views.form_input import lines, read_text

router = APIRouter()

MAX_ITEMS = 50
MAX_ITEM = 1000


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


# --- SLT report ----------------------------------------------------------------------------


@router.get("/children/{child_id}/slt-reports/new")
async def slt_report_form(child_id: UUID, page: PractitionerPage) -> Response:
    return await _form(page, child_id, "reports/slt.html")


@router.post("/children/{child_id}/slt-reports/new")
async def share_slt_report(child_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        return {"assessment_summary": read_text(f, "assessment_summary", errors, empty="Enter a summary of the assessment",
                                                what="The assessment summary"),
                "programme": read_text(f, "programme", errors, empty="Enter the programme for the setting and home",
                                       what="The programme"),
                "recommendations": _recommendations(f, errors)}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": "Share a speech and language therapy report",
                "rows": [("Assessment summary", body["assessment_summary"]), ("Programme", body["programme"]),
                         ("Recommendations", body["recommendations"])],
                "confirm": "Share the report",
                "note": "The report goes on the child’s timeline. Who on the team sees it is decided by the "
                        "family’s consent."}

    return await child_action(
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
        return {"summary": read_text(f, "summary", errors, empty="Enter a summary of your advice", what="The summary"),
                "recommendations": _recommendations(f, errors)}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": "Share educational psychology advice",
                "rows": [("Summary", body["summary"]), ("Recommendations", body["recommendations"])],
                "confirm": "Share the advice",
                "note": "The advice goes on the child’s timeline. Who on the team sees it is decided by the "
                        "family’s consent."}

    return await child_action(
        page, child_id, template="reports/ep_advice.html", validate=validate, check=check,
        send=lambda apis, body: apis.referrals.share_ep_advice(child_id, body),
        fields={"summary": "summary", "recommendations": "recommendations"})
