"""The local authority's actions on an EHC needs assessment request (views/ehc.py has the
request, the caseworker's page and the advice given): decide whether to assess (or decline with
a reason), ask for advice and information (reg. 6(1), 8), issue the draft plan (the family's
comments due at least 15 days on, reg. 13(1)) and the final plan, with any reg. 10(4) exceptions.
Each posts back to the caseworker's page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.templating import date_words
from services.web.views.casework_common import form_then_check, organisations, today
from services.web.views.deps import Page, PractitionerPage
from services.web.views.ehc import EXCEPTION_WORDS, EXCEPTIONS, request_and_title
from services.web.views.form_input import date_field_id, date_values, iso, read_choice, read_date, read_text

router = APIRouter()

DRAFT_COMMENT_DAYS = 15  # reg. 13(1)
# Whom a local authority asks for advice (reg. 6(1)): any organisation in the directory but a local authority team.
ADVICE_AGENCIES = ("ep_service", "slt_service", "health_visiting", "setting", "area_senco", "childrens_centre", "school")


async def _la_form(page: Page, request_id: UUID, template: str, values: dict[str, str], **context: Any) -> Response:
    """A local authority's action on the request, its form (the dates filled in with `values`)."""
    req, title = await request_and_title(page, request_id)
    return await page.form(template, req=req, title=title, values=values, **context)


async def _la_action(
    page: Page, request_id: UUID, *, template: str, validate: Callable[[dict[str, Any], FormErrors], dict[str, Any]],
    send: Callable[[Any, dict[str, Any]], Awaitable[Any]], fields: dict[str, str], **context: Any,
) -> Response:
    """A local authority's action on the request posted: checked by `validate`, sent with
    `send(apis, body)`, then back to the caseworker's page (casework_common.form_then_check)."""
    req, title = await request_and_title(page, request_id)
    return await form_then_check(
        page, template=template, context={"req": req, "title": title, **context}, validate=validate,
        send=send, done=lambda _: f"/ehc-requests/{request_id}", fields=fields)


@router.get("/ehc-requests/{request_id}/decision")
async def decision_form(request_id: UUID, page: PractitionerPage) -> Response:
    return await _la_form(page, request_id, "ehc/decision.html", date_values(decided_on=today(page)))


@router.post("/ehc-requests/{request_id}/decision")
async def decide(request_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        decision = read_choice(f, "decision", ("start", "decline"), errors,
                               missing="Select whether the local authority will carry out the assessment")
        body: dict[str, Any] = {"decision": decision,
                                "decided_on": iso(read_date(f, "decided_on", "of the decision", errors))}
        if decision == "decline":
            body["reason"] = read_text(f, "reason", errors, empty="Enter the reason for not assessing", what="The reason")
        return body

    async def send(apis: Any, body: dict[str, Any]) -> Any:
        decision = body.pop("decision")
        if decision == "start":
            return await apis.referrals.start_ehc(request_id, body)
        return await apis.referrals.decline_ehc(request_id, body)

    return await _la_action(page, request_id, template="ehc/decision.html", validate=validate, send=send,
                            fields={"decided_on": date_field_id("decided_on"), "reason": "reason"})


@router.get("/ehc-requests/{request_id}/advice-requests/new")
async def advice_request_form(request_id: UUID, page: PractitionerPage) -> Response:
    return await _la_form(page, request_id, "ehc/advice_request.html", date_values(requested_on=today(page)),
                          advisers=organisations(page, *ADVICE_AGENCIES))


@router.post("/ehc-requests/{request_id}/advice-requests/new")
async def ask_for_advice(request_id: UUID, page: PractitionerPage) -> Response:
    advisers = organisations(page, *ADVICE_AGENCIES)
    by_id = {a["value"]: a for a in advisers}

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        org = read_choice(f, "from_organisation_id", by_id, errors, missing="Select the organisation you are asking for advice")
        asked = read_date(f, "requested_on", "you asked for the advice", errors)
        return {"from_organisation_id": org, "from_agency": by_id[org]["agency"] if org in by_id else None,
                "requested_on": iso(asked)}

    return await _la_action(
        page, request_id, template="ehc/advice_request.html", advisers=advisers, validate=validate,
        send=lambda apis, body: apis.referrals.request_advice(request_id, body),
        fields={"from_organisation_id": "from-organisation-id", "from_agency": "from-organisation-id",
                "requested_on": date_field_id("requested_on")})


@router.get("/ehc-requests/{request_id}/draft-plan")
async def draft_form(request_id: UUID, page: PractitionerPage) -> Response:
    on = today(page)
    return await _la_form(page, request_id, "ehc/draft.html",
                          date_values(issued_on=on, comments_due_on=on + timedelta(days=DRAFT_COMMENT_DAYS)))


@router.post("/ehc-requests/{request_id}/draft-plan")
async def issue_draft(request_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        issued = read_date(f, "issued_on", "the draft plan was issued", errors)
        due = read_date(f, "comments_due_on", "comments are due", errors)
        if issued and due and due < issued + timedelta(days=DRAFT_COMMENT_DAYS):
            errors.add(date_field_id("comments_due_on"),
                       f"Give the family at least {DRAFT_COMMENT_DAYS} days to comment: comments due on "
                       f"{date_words(issued + timedelta(days=DRAFT_COMMENT_DAYS))} or later (reg. 13(1))")
        return {"issued_on": iso(issued), "comments_due_on": iso(due)}

    return await _la_action(
        page, request_id, template="ehc/draft.html", validate=validate,
        send=lambda apis, body: apis.referrals.issue_draft_plan(request_id, body),
        fields={"issued_on": date_field_id("issued_on"), "comments_due_on": date_field_id("comments_due_on")})


@router.get("/ehc-requests/{request_id}/final-plan")
async def final_form(request_id: UUID, page: PractitionerPage) -> Response:
    return await _la_form(page, request_id, "ehc/final.html", date_values(finalised_on=today(page)),
                          exceptions=EXCEPTIONS)


@router.post("/ehc-requests/{request_id}/final-plan")
async def finalise(request_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        final = read_date(f, "finalised_on", "the final plan was issued", errors)
        chosen = f.get("exceptions") or []
        chosen = chosen if isinstance(chosen, list) else [chosen]
        if any(c not in EXCEPTION_WORDS for c in chosen):
            errors.add("exceptions", "Select only the exceptions listed")
        return {"finalised_on": iso(final), "exceptions": chosen}

    return await _la_action(
        page, request_id, template="ehc/final.html", exceptions=EXCEPTIONS, validate=validate,
        send=lambda apis, body: apis.referrals.finalise_plan(request_id, body),
        fields={"finalised_on": date_field_id("finalised_on"), "exceptions": "exceptions"})
