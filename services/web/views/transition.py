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
from services.web.views.casework_common import child_action, child_form, child_view, org_name, organisations, today
from services.web.views.deps import PractitionerPage
from services.web.views.form_input import date_field_id, date_values, iso, read_choice, read_date, read_text

router = APIRouter()


@router.get("/children/{child_id}/transition/new")
async def plan_form(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    values: dict[str, Any] = {}
    reception = (child.raw.get("due_dates") or ())
    start = next((d["due_on"] for d in reception if d.get("kind") == "reception_place_from"), None)
    if start:
        values.update(date_values(starts_on=date.fromisoformat(str(start))))
    return await page.form("transition/plan.html", child=child, values=values,
                           schools=organisations(page, "school"))


@router.post("/children/{child_id}/transition/new")
async def plan(child_id: UUID, page: PractitionerPage) -> Response:
    schools = organisations(page, "school")
    ids = {s["value"] for s in schools}

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        school = read_choice(f, "school_organisation_id", ids, errors, missing="Select the school the child will start at")
        starts = read_date(f, "starts_on", "the child starts school", errors)
        if starts and starts < today(page):
            errors.add(date_field_id("starts_on"), "The date the child starts school must be in the future")
        summary = read_text(f, "plan_summary", errors, empty="Enter the plan for the move to school", what="The plan")
        return {"school_organisation_id": school, "starts_on": iso(starts), "plan_summary": summary}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        starts = date.fromisoformat(body["starts_on"])
        return {"heading": "Plan the move to school",
                "rows": [("School", org_name(page, body["school_organisation_id"])),
                         ("Starts on", f"{starts.day} {starts:%B %Y}"), ("Plan", body["plan_summary"])],
                "confirm": "Save the plan",
                "warning": "The school joins the team around the child. It sees only what the family’s consent "
                           "lets it see."}

    return await child_action(
        page, child_id, template="transition/plan.html", context={"schools": schools}, validate=validate,
        check=check, send=lambda apis, body: apis.referrals.plan_transition(child_id, body),
        fields={"school_organisation_id": "school-organisation-id", "starts_on": date_field_id("starts_on"),
                "plan_summary": "plan-summary"})


@router.get("/children/{child_id}/transition/complete")
async def complete_form(child_id: UUID, page: PractitionerPage) -> Response:
    return await child_form(page, child_id, "transition/complete.html", date_values(completed_on=today(page)))


@router.post("/children/{child_id}/transition/complete")
async def complete(child_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        return {"completed_on": iso(read_date(f, "completed_on", "the child started school", errors))}

    return await child_action(
        page, child_id, template="transition/complete.html", validate=validate,
        send=lambda apis, body: apis.referrals.complete_transition(child_id, body),
        fields={"completed_on": date_field_id("completed_on")})
