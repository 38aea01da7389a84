"""The EHC needs assessment (Children and Families Act 2014 s.36; SEND Regulations 2014), UI.md:

* the setting requests it (the local authority from the directory, the day it was received),
  with check-your-answers: /children/{id}/ehc-requests/new;
* the caseworker's page /ehc-requests/{id}: the clock ("week N of 20"), each statutory date
  (decision 6 weeks reg. 5(1); advice 6 weeks reg. 8(1); notice if no plan 16 weeks reg. 10(1);
  final plan 20 weeks reg. 13(2)) with "Overdue" tags and the reg. 10(4) exceptions beside a
  missed date, and the local authority's actions: decide (assess or decline with a reason), ask
  for advice, issue the draft plan (comments due at least 15 days on, reg. 13(1)), finalise;
* the organisation asked submits its advice: /ehc-advice/{advice_id}, found from its own caseload.

Dates and flags are the referrals API's (services/referrals/clock.py); the page only words them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.views.casework_common import (
    child_view, date_field_id, date_values, form_then_check, org_name, organisations, read_date, read_form,
    today,
)
from services.web.views.deps import Page, PractitionerPage

router = APIRouter()

TOTAL_WEEKS = 20
DRAFT_COMMENT_DAYS = 15  # reg. 13(1)

DUE_WORDS = {
    "ehc_decision_to_assess": ("Decide whether to assess", "within 6 weeks of the request, SEND Regulations 2014 reg. 5(1)"),
    "ehc_notice_if_no_plan": ("Tell the family if no plan will be issued",
                              "within 16 weeks of the request, reg. 10(1)"),
    "ehc_final_plan": ("Issue the final EHC plan", "within 20 weeks of the request, reg. 13(2)"),
}
STATE_WORDS = {
    "requested": "Waiting for the decision whether to assess",
    "started": "Being assessed",
    "declined": "The local authority decided not to assess",
    "draft_issued": "Draft plan issued",
    "finalised": "Final EHC plan issued",
}
EXCEPTIONS = (
    ("setting_closed_4_weeks", "The child’s setting was closed for 4 weeks or more"),
    ("exceptional_personal_circumstances", "Exceptional personal circumstances of the child or the family"),
    ("family_absent_4_weeks", "The family was away from the area for 4 weeks or more"),
)
EXCEPTION_WORDS = dict(EXCEPTIONS)
# Whom a local authority asks for advice (reg. 6(1)): any organisation in the directory but a local authority team.
ADVICE_AGENCIES = ("ep_service", "slt_service", "health_visiting", "setting", "area_senco", "childrens_centre", "school")


def week_of(requested_on: date, on: date) -> int:
    """Week N of the 20: the request's day starts week 1."""
    return max(0, (on - requested_on).days) // 7 + 1


# --- request ---------------------------------------------------------------------------------


@router.get("/children/{child_id}/ehc-requests/new")
async def request_form(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    values = date_values(received_on=today(page))
    las = organisations(page, "la_sen_team")
    if len(las) == 1:
        values["la_organisation_id"] = las[0]["value"]
    return await page.render("ehc/request.html", child=child, values=values, errors=FormErrors(), las=las)


@router.post("/children/{child_id}/ehc-requests/new")
async def request_assessment(child_id: UUID, page: PractitionerPage) -> Response:
    assert page.apis is not None
    apis = page.apis
    child = await child_view(page, child_id)
    form = await read_form(page)
    las = organisations(page, "la_sen_team")
    la_ids = {la["value"] for la in las}

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        la = str(f.get("la_organisation_id") or "")
        if la not in la_ids:
            errors.add("la-organisation-id", "Select the local authority the request goes to")
        received = read_date(f, "received_on", "the local authority received the request", errors)
        if received and received > today(page):
            errors.add(date_field_id("received_on"), "The date the local authority received the request must be today or in the past")
        return {"la_organisation_id": la, "received_on": received.isoformat() if received else None}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        received = date.fromisoformat(body["received_on"])
        return {"heading": "Request an EHC needs assessment", "caption": child.title,
                "rows": [("Local authority", org_name(page, body["la_organisation_id"])),
                         ("Received on", _words(received)),
                         ("Decision due by", _words(received + timedelta(weeks=6)))],
                "confirm": "Send the request",
                "warning": "The local authority’s SEN team joins the team around the child and sees what the "
                           "family’s consent lets it see.",
                "note": "The local authority must decide whether to assess within 6 weeks, and issue any "
                        "EHC plan within 20 weeks (SEND Regulations 2014)."}

    return await form_then_check(
        page, form, template="ehc/request.html", context={"child": child, "las": las}, validate=validate,
        check=check, send=lambda body: apis.referrals.request_ehc(child_id, body),
        done=lambda _: f"/children/{child_id}",
        fields={"la_organisation_id": "la-organisation-id", "received_on": date_field_id("received_on")})


def _words(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


# --- the caseworker's page ------------------------------------------------------------------


async def _request(page: Page, request_id: UUID) -> tuple[dict[str, Any], str]:
    """The request (404 -> "Page not found") and how the page names the child: their name where
    the viewer may see it (the setting; the LA's caseload names the child it works with)."""
    assert page.apis is not None
    req = await page.apis.referrals.ehc_request(request_id)
    title = None
    if page.person and page.person.agency == "la_sen_team":
        caseload = await page.apis.referrals.caseload(kind="ehc", limit=200)
        title = next((i.get("child_name") for i in caseload.get("items") or () if str(i.get("id")) == str(request_id)), None)
    if title is None:
        title = (await child_view(page, UUID(str(req["child_id"])))).title
    return req, title


@router.get("/ehc-requests/{request_id}")
async def ehc_page(request_id: UUID, page: PractitionerPage) -> Response:
    req, title = await _request(page, request_id)
    on = today(page)
    requested_on = date.fromisoformat(str(req["requested_on"]))
    dues = []
    for due in req.get("due_dates") or ():
        label, reference = DUE_WORDS.get(due["kind"], (due["kind"].replace("_", " "), due.get("reference", "")))
        dues.append({**due, "label": label, "reference": reference,
                     "excused_words": [EXCEPTION_WORDS.get(e, e.replace("_", " ")) for e in due.get("excused_by") or ()]})
    advice = []
    for a in req.get("advice") or ():
        due_on = date.fromisoformat(str(a["due_on"]))
        advice.append({**a, "overdue": not a.get("submitted_on") and on > due_on})
    state = req.get("state")
    la = bool(page.person and page.person.organisation_id == req.get("la_organisation_id"))
    return await page.render(
        "ehc/request_page.html", req=req, title=title, week=week_of(requested_on, on), total_weeks=TOTAL_WEEKS,
        dues=dues, advice=advice, state_words=STATE_WORDS.get(state or "", ""), la=la, state=state,
        exceptions=[EXCEPTION_WORDS.get(e, e) for e in req.get("exceptions") or ()])


# --- the local authority's actions -----------------------------------------------------------


async def _la_form(page: Page, request_id: UUID, template: str, values: dict[str, str], **context: Any) -> Response:
    """A local authority's action on the request, its form (the dates filled in with `values`)."""
    req, title = await _request(page, request_id)
    return await page.render(template, req=req, title=title, values=values, errors=FormErrors(), **context)


async def _la_action(
    page: Page, request_id: UUID, *, template: str, validate: Callable[[dict[str, Any], FormErrors], dict[str, Any]],
    send: Callable[[Any, dict[str, Any]], Awaitable[Any]], fields: dict[str, str], **context: Any,
) -> Response:
    """A local authority's action on the request posted: checked by `validate`, sent with
    `send(apis, body)`, then back to the caseworker's page (casework_common.form_then_check)."""
    assert page.apis is not None
    apis = page.apis
    req, title = await _request(page, request_id)
    form = await read_form(page)
    return await form_then_check(
        page, form, template=template, context={"req": req, "title": title, **context}, validate=validate,
        send=lambda body: send(apis, body), done=lambda _: f"/ehc-requests/{request_id}", fields=fields)


@router.get("/ehc-requests/{request_id}/decision")
async def decision_form(request_id: UUID, page: PractitionerPage) -> Response:
    return await _la_form(page, request_id, "ehc/decision.html", date_values(decided_on=today(page)))


@router.post("/ehc-requests/{request_id}/decision")
async def decide(request_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        decision = str(f.get("decision") or "")
        if decision not in ("start", "decline"):
            errors.add("decision", "Select whether the local authority will carry out the assessment")
        decided = read_date(f, "decided_on", "of the decision", errors)
        body: dict[str, Any] = {"decision": decision, "decided_on": decided.isoformat() if decided else None}
        if decision == "decline":
            reason = str(f.get("reason") or "").strip()
            if not reason:
                errors.add("reason", "Enter the reason for not assessing")
            elif len(reason) > 4000:
                errors.add("reason", "The reason must be 4,000 characters or fewer")
            body["reason"] = reason
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
        org = str(f.get("from_organisation_id") or "")
        if org not in by_id:
            errors.add("from-organisation-id", "Select the organisation you are asking for advice")
        asked = read_date(f, "requested_on", "you asked for the advice", errors)
        return {"from_organisation_id": org, "from_agency": by_id[org]["agency"] if org in by_id else None,
                "requested_on": asked.isoformat() if asked else None}

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
                       f"{_words(issued + timedelta(days=DRAFT_COMMENT_DAYS))} or later (reg. 13(1))")
        return {"issued_on": issued.isoformat() if issued else None, "comments_due_on": due.isoformat() if due else None}

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
        return {"finalised_on": final.isoformat() if final else None, "exceptions": chosen}

    return await _la_action(
        page, request_id, template="ehc/final.html", exceptions=EXCEPTIONS, validate=validate,
        send=lambda apis, body: apis.referrals.finalise_plan(request_id, body),
        fields={"finalised_on": date_field_id("finalised_on"), "exceptions": "exceptions"})


# --- the organisation asked for advice -------------------------------------------------------


async def _advice_item(page: Page, advice_id: UUID) -> dict[str, Any]:
    assert page.apis is not None
    caseload = await page.apis.referrals.caseload(kind="advice", limit=200)
    item = next((i for i in caseload.get("items") or () if str(i.get("id")) == str(advice_id)), None)
    if item is None:
        raise PageNotFound()  # not asked of this organisation, already given, or no such request
    return item


@router.get("/ehc-advice/{advice_id}")
async def advice_form(advice_id: UUID, page: PractitionerPage) -> Response:
    item = await _advice_item(page, advice_id)
    values = date_values(submitted_on=today(page))
    return await page.render("ehc/advice.html", item=item, values=values, errors=FormErrors())


@router.post("/ehc-advice/{advice_id}")
async def submit_advice(advice_id: UUID, page: PractitionerPage) -> Response:
    assert page.apis is not None
    apis = page.apis
    item = await _advice_item(page, advice_id)
    form = await read_form(page)

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        summary = str(f.get("summary") or "").strip()
        if not summary:
            errors.add("summary", "Enter your advice and information")
        elif len(summary) > 4000:
            errors.add("summary", "Your advice must be 4,000 characters or fewer")
        given = read_date(f, "submitted_on", "you gave the advice", errors)
        return {"summary": summary, "submitted_on": given.isoformat() if given else None}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": "Give EHC advice and information", "caption": item.get("child_name") or "the child",
                "rows": [("Advice and information", body["summary"]),
                         ("Given on", _words(date.fromisoformat(body["submitted_on"])))],
                "confirm": "Send the advice",
                "note": "The local authority that asked receives it for the EHC needs assessment."}

    return await form_then_check(
        page, form, template="ehc/advice.html", context={"item": item}, validate=validate, check=check,
        send=lambda body: apis.referrals.submit_advice(advice_id, body),
        done=lambda _: f"/children/{item['child_id']}",
        fields={"summary": "summary", "submitted_on": date_field_id("submitted_on")})

