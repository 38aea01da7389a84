"""The move to school (SEND Code of Practice 0-25, 5.47): the setting plans it (the school from
the directory, the start date, the plan) with check-your-answers — naming the school puts it on
the team around the child — and the setting or the school records it done."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.views.casework_common import (
    child_view, date_field_id, date_values, form_then_check, org_name, organisations, read_date, read_form, today,
)
from services.web.views.deps import PractitionerPage

router = APIRouter()


@router.get("/children/{child_id}/transition/new")
async def plan_form(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    values: dict[str, Any] = {}
    reception = (child.raw.get("due_dates") or ())
    start = next((d["due_on"] for d in reception if d.get("kind") == "reception_place_from"), None)
    if start:
        values.update(date_values(starts_on=date.fromisoformat(str(start))))
    return await page.render("transition/plan.html", child=child, values=values, errors=FormErrors(),
                             schools=organisations(page, "school"))


@router.post("/children/{child_id}/transition/new")
async def plan(child_id: UUID, page: PractitionerPage) -> Response:
    assert page.apis is not None
    apis = page.apis
    child = await child_view(page, child_id)
    form = await read_form(page)
    schools = organisations(page, "school")
    ids = {s["value"] for s in schools}

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        school = str(f.get("school_organisation_id") or "")
        if school not in ids:
            errors.add("school-organisation-id", "Select the school the child will start at")
        starts = read_date(f, "starts_on", "the child starts school", errors)
        if starts and starts < today(page):
            errors.add(date_field_id("starts_on"), "The date the child starts school must be in the future")
        summary = str(f.get("plan_summary") or "").strip()
        if not summary:
            errors.add("plan-summary", "Enter the plan for the move to school")
        elif len(summary) > 4000:
            errors.add("plan-summary", "The plan must be 4,000 characters or fewer")
        return {"school_organisation_id": school, "starts_on": starts.isoformat() if starts else None,
                "plan_summary": summary}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        starts = date.fromisoformat(body["starts_on"])
        return {"heading": "Plan the move to school", "caption": child.title,
                "rows": [("School", org_name(page, body["school_organisation_id"])),
                         ("Starts on", f"{starts.day} {starts:%B %Y}"), ("Plan", body["plan_summary"])],
                "confirm": "Save the plan",
                "warning": "The school joins the team around the child. It sees only what the family’s consent "
                           "lets it see."}

    return await form_then_check(
        page, form, template="transition/plan.html", context={"child": child, "schools": schools},
        validate=validate, check=check, send=lambda body: apis.referrals.plan_transition(child_id, body),
        done=lambda _: f"/children/{child_id}",
        fields={"school_organisation_id": "school-organisation-id", "starts_on": date_field_id("starts_on"),
                "plan_summary": "plan-summary"})


@router.get("/children/{child_id}/transition/complete")
async def complete_form(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    values = date_values(completed_on=today(page))
    return await page.render("transition/complete.html", child=child, values=values, errors=FormErrors())


@router.post("/children/{child_id}/transition/complete")
async def complete(child_id: UUID, page: PractitionerPage) -> Response:
    assert page.apis is not None
    apis = page.apis
    child = await child_view(page, child_id)
    form = await read_form(page)

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        done_on = read_date(f, "completed_on", "the child started school", errors)
        return {"completed_on": done_on.isoformat() if done_on else None}

    return await form_then_check(
        page, form, template="transition/complete.html", context={"child": child}, validate=validate,
        send=lambda body: apis.referrals.complete_transition(child_id, body),
        done=lambda _: f"/children/{child_id}", fields={"completed_on": date_field_id("completed_on")})
