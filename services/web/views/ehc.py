"""The EHC needs assessment (Children and Families Act 2014 s.36; SEND Regulations 2014), UI.md:

* the setting requests it (the local authority from the directory, the day it was received),
  with check-your-answers: /children/{id}/ehc-requests/new;
* the caseworker's page /ehc-requests/{id}: the clock ("week N of 20"), each statutory date
  (decision 6 weeks reg. 5(1); advice 6 weeks reg. 8(1); notice if no plan 16 weeks reg. 10(1);
  final plan 20 weeks reg. 13(2)) with "Overdue" tags and the reg. 10(4) exceptions beside a
  missed date, and links to the local authority's actions (views/ehc_la.py);
* the organisation asked submits its advice: /ehc-advice/{advice_id}, found from its own caseload.

Dates and flags are the referrals API's (services/referrals/clock.py); the page only words them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.templating import date_words
from services.web.views.casework_common import child_action, child_form, child_view, form_then_check, org_name, organisations, today
from services.web.views.deps import Page, PractitionerPage
from services.web.views.form_input import date_field_id, date_values, iso, read_choice, read_date, read_text

router = APIRouter()

TOTAL_WEEKS = 20

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


def week_of(requested_on: date, on: date) -> int:
    """Week N of the 20: the request's day starts week 1."""
    return max(0, (on - requested_on).days) // 7 + 1


# --- request ---------------------------------------------------------------------------------


@router.get("/children/{child_id}/ehc-requests/new")
async def request_form(child_id: UUID, page: PractitionerPage) -> Response:
    values = date_values(received_on=today(page))
    las = organisations(page, "la_sen_team")
    if len(las) == 1:
        values["la_organisation_id"] = las[0]["value"]
    return await child_form(page, child_id, "ehc/request.html", values, las=las)


@router.post("/children/{child_id}/ehc-requests/new")
async def request_assessment(child_id: UUID, page: PractitionerPage) -> Response:
    las = organisations(page, "la_sen_team")

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        la = read_choice(f, "la_organisation_id", {la["value"] for la in las}, errors,
                         missing="Select the local authority the request goes to")
        received = read_date(f, "received_on", "the local authority received the request", errors)
        if received and received > today(page):
            errors.add(date_field_id("received_on"), "The date the local authority received the request must be today or in the past")
        return {"la_organisation_id": la, "received_on": iso(received)}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        received = date.fromisoformat(body["received_on"])
        return {"heading": "Request an EHC needs assessment",
                "rows": [("Local authority", org_name(page, body["la_organisation_id"])),
                         ("Received on", date_words(received)),
                         ("Decision due by", date_words(received + timedelta(weeks=6)))],
                "confirm": "Send the request",
                "warning": "The local authority’s SEN team joins the team around the child and sees what the "
                           "family’s consent lets it see.",
                "note": "The local authority must decide whether to assess within 6 weeks, and issue any "
                        "EHC plan within 20 weeks (SEND Regulations 2014)."}

    return await child_action(
        page, child_id, template="ehc/request.html", context={"las": las}, validate=validate, check=check,
        send=lambda apis, body: apis.referrals.request_ehc(child_id, body),
        fields={"la_organisation_id": "la-organisation-id", "received_on": date_field_id("received_on")})


# --- the caseworker's page ------------------------------------------------------------------


async def request_and_title(page: Page, request_id: UUID) -> tuple[dict[str, Any], str]:
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
    req, title = await request_and_title(page, request_id)
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
    return await page.form("ehc/advice.html", item=item, values=values)


@router.post("/ehc-advice/{advice_id}")
async def submit_advice(advice_id: UUID, page: PractitionerPage) -> Response:
    item = await _advice_item(page, advice_id)

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        summary = read_text(f, "summary", errors, empty="Enter your advice and information", what="Your advice")
        return {"summary": summary, "submitted_on": iso(read_date(f, "submitted_on", "you gave the advice", errors))}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": "Give EHC advice and information", "caption": item.get("child_name") or "the child",
                "rows": [("Advice and information", body["summary"]),
                         ("Given on", date_words(date.fromisoformat(body["submitted_on"])))],
                "confirm": "Send the advice",
                "note": "The local authority that asked receives it for the EHC needs assessment."}

    return await form_then_check(
        page, template="ehc/advice.html", context={"item": item}, validate=validate, check=check,
        send=lambda apis, body: apis.referrals.submit_advice(advice_id, body),
        done=lambda _: f"/children/{item['child_id']}",
        fields={"summary": "summary", "submitted_on": date_field_id("submitted_on")})
