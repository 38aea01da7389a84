"""The integrated review (EYFS progress check at two with the Healthy Child Programme's 2 to 2½
year review, UI.md): schedule it with an organisation from the directory (usually the child's
setting), complete it with an outcome per EYFS prime area, and the health visitor's list of
reviews due (GET /caseload/integrated-reviews) beside the reviews scheduled (the caseload)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.api_clients import Forbidden
from services.web.forms import FormErrors
from services.web.views.casework_common import child_action, child_form, child_view, organisations, today
from services.web.views.deps import PractitionerPage
from services.web.views.form_input import date_field_id, date_values, iso, read_choice, read_date

router = APIRouter()

PRIME_AREAS = (
    ("communication_and_language", "Communication and language"),
    ("physical_development", "Physical development"),
    ("personal_social_and_emotional", "Personal, social and emotional development"),
)
OUTCOMES = (("expected", "Expected"), ("emerging", "Emerging"), ("below_expected", "Below expected"))
OUTCOME_WORDS = dict(OUTCOMES)
PHASES = {
    "approaching": "Window opens soon",
    "in_window": "Due now",
    "hcp_overdue": "Past 2½ years",
    "overdue": "Past 3 years",
    "done": "Done",
}


@router.get("/children/{child_id}/integrated-reviews/new")
async def schedule_form(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    values = {"with_organisation_id": child.setting_id or "", **date_values(scheduled_for=None)}
    return await page.form("reviews/schedule.html", child=child, values=values, partners=_partners(page))


def _partners(page: PractitionerPage) -> list[dict[str, str]]:
    me = page.person.organisation_id if page.person else None
    return organisations(page, "setting", "health_visiting", exclude=(me,))


@router.post("/children/{child_id}/integrated-reviews/new")
async def schedule(child_id: UUID, page: PractitionerPage) -> Response:
    partners = {p["value"]: p for p in _partners(page)}

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        when = read_date(f, "scheduled_for", "the review is planned for", errors)
        partner = read_choice(f, "with_organisation_id", partners, errors,
                              missing="Select the organisation you will do the review with")
        body: dict[str, Any] = {"scheduled_for": iso(when)}
        if partner in partners:
            body.update(with_organisation_id=partner, with_agency=partners[partner]["agency"])
        return body

    return await child_action(
        page, child_id, template="reviews/schedule.html", context={"partners": list(partners.values())},
        validate=validate, send=lambda apis, body: apis.referrals.schedule_review(child_id, body),
        fields={"scheduled_for": date_field_id("scheduled_for"), "with_organisation_id": "with-organisation-id",
                "with_agency": "with-organisation-id"})


@router.get("/children/{child_id}/integrated-reviews/{review_id}/complete")
async def complete_form(child_id: UUID, review_id: UUID, page: PractitionerPage) -> Response:
    return await child_form(page, child_id, "reviews/complete.html", date_values(completed_on=today(page)),
                            review_id=review_id, areas=PRIME_AREAS, outcomes=OUTCOMES)


@router.post("/children/{child_id}/integrated-reviews/{review_id}/complete")
async def complete(child_id: UUID, review_id: UUID, page: PractitionerPage) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        done_on = read_date(f, "completed_on", "the review was done", errors)
        outcomes = {key: read_choice(f, key, OUTCOME_WORDS, errors, missing=f"Select the outcome for {label.lower()}")
                    for key, label in PRIME_AREAS}
        return {"completed_on": iso(done_on), "outcomes": {k: v for k, v in outcomes.items() if v in OUTCOME_WORDS}}

    return await child_action(
        page, child_id, template="reviews/complete.html",
        context={"review_id": review_id, "areas": PRIME_AREAS, "outcomes": OUTCOMES},
        validate=validate, send=lambda apis, body: apis.referrals.complete_review(review_id, body),
        fields={"completed_on": date_field_id("completed_on"), "outcomes": "communication-and-language",
                **{f"outcomes.{k}": k.replace("_", "-") for k, _ in PRIME_AREAS}})


@router.get("/integrated-reviews")
async def reviews_due(page: PractitionerPage) -> Response:
    """The integrated reviews due (a health visiting service's list) and those scheduled."""
    assert page.apis is not None
    try:
        due = await page.apis.referrals.integrated_reviews(limit=200)
    except Forbidden:
        due = None  # only a health visiting service has the list; a setting sees its scheduled reviews
    scheduled = await page.apis.referrals.caseload(kind="integrated_review", limit=200)
    return await page.render("reviews/list.html", due=(due or {}).get("items") if due is not None else None,
                             scheduled=scheduled.get("items") or [], phases=PHASES)
