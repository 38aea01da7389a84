"""Two-way, not a window (EYFS statutory framework: a regular two-way flow of information with
parents): the parent adds "what we see at home" (category progress) and, during an EHC needs
assessment, their views, wishes and feelings and their child's (SEND Regulations 2014 reg.
6(1)(a), 7; category ehc). Both are the parent's own entries, shown to practitioners under the
same consent decision as everything else."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.views.form_input import date_from_parts
from services.web.views.deps import ParentPage
from services.web.views.parent.child import ehc_requests, timeline_rows
from services.web.views.parent.common import base, done, done_page, parent_child

router = APIRouter()

MAX_TEXT = 4000


@router.get("/your-child/{child_id}/at-home")
async def at_home_form(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    return await page.form("parent/at_home.html", child=child)


@router.post("/your-child/{child_id}/at-home")
async def at_home(page: ParentPage, child_id: UUID, text: Annotated[str, Form()] = "",
                  seen_day: Annotated[str, Form()] = "", seen_month: Annotated[str, Form()] = "",
                  seen_year: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    values = {"text": text.strip(), "seen_day": seen_day.strip(), "seen_month": seen_month.strip(),
              "seen_year": seen_year.strip()}
    errors = FormErrors()
    errors.check_text("text", text, empty="Enter what you see at home",
                      too_long=f"What you see at home must be {MAX_TEXT} characters or fewer", limit=MAX_TEXT)
    seen_on = None
    if any((values["seen_day"], values["seen_month"], values["seen_year"])):
        seen_on = date_from_parts(values["seen_day"], values["seen_month"], values["seen_year"])
        if seen_on is None:
            errors.add("seen-day", "Enter a real date, for example 27 3 2026")
        elif seen_on > date.today():
            errors.add("seen-day", "The date must be today or in the past")
    apis = page.apis

    async def send() -> None:
        await apis.referrals.share_parent_observation(
            child_id, {"text": values["text"]} | ({"seen_on": seen_on.isoformat()} if seen_on else {}))
        done(page, child_id, kind="at_home")

    return await page.submit(errors, send, done=f"{base(child)}/at-home/shared", template="parent/at_home.html",
                             child=child, values=values, fields={"text": "text", "seen_on": "seen-day"})


@router.get("/your-child/{child_id}/at-home/shared")
async def at_home_shared(page: ParentPage, child_id: UUID) -> Response:
    return await done_page(page, child_id, "at_home", "parent/at_home_shared.html")


async def _request(page: ParentPage, child_id: UUID, request_id: UUID) -> dict:
    found = next((r for r in ehc_requests(await timeline_rows(page, child_id)) if r["request_id"] == str(request_id)), None)
    if found is None:
        raise PageNotFound()
    return found


@router.get("/your-child/{child_id}/ehc/{request_id}/views")
async def views_form(page: ParentPage, child_id: UUID, request_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    request = await _request(page, child_id, request_id)
    return await page.form("parent/ehc_views.html", child=child, ehc_request=request)


@router.post("/your-child/{child_id}/ehc/{request_id}/views")
async def give_views(page: ParentPage, child_id: UUID, request_id: UUID,
                     parent_views: Annotated[str, Form()] = "", child_views: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    request = await _request(page, child_id, request_id)
    values = {"parent_views": parent_views.strip(), "child_views": child_views.strip()}
    errors = FormErrors()
    errors.check_text("parent-views", parent_views, empty="Enter your views, wishes and feelings",
                      too_long=f"Your views must be {MAX_TEXT} characters or fewer", limit=MAX_TEXT)
    errors.check_text("child-views", child_views, empty=None,
                      too_long=f"Your child’s views must be {MAX_TEXT} characters or fewer", limit=MAX_TEXT)
    apis = page.apis

    async def send() -> None:
        await apis.referrals.give_parent_views(request_id, {"parent_views": values["parent_views"]} | (
            {"child_views": values["child_views"]} if values["child_views"] else {}))
        done(page, child_id, kind="views")

    return await page.submit(errors, send, done=f"{base(child)}/ehc/{request_id}/views/sent",
                             template="parent/ehc_views.html", child=child, ehc_request=request, values=values,
                             fields={"parent_views": "parent-views", "child_views": "child-views"})


@router.get("/your-child/{child_id}/ehc/{request_id}/views/sent")
async def views_sent(page: ParentPage, child_id: UUID, request_id: UUID) -> Response:
    return await done_page(page, child_id, "views", "parent/ehc_views_sent.html")
