"""A parent's consent as answers to one set of questions, asked on two forms: the setting
recording it on the parent's behalf (views/consent.py, /children/…/consents) and the parent
giving it (views/parent/consents.py, /your-child/…/consents). Both forms share the fields
(templates/macros/consent.html: `consent_fields` and, on check your answers, `consent_summary`),
the reading and checking of the posted answers (each form words its errors: "their" or "your"),
the draft kept in the session and the request sent to the consent API.

    async def answers(page: ..., child_id: UUID, submitted: Submitted) -> Response:
        values, errors = read_answers(submitted, page.request.app.state.directory, ERROR_WORDS)
        ...
        await page.apis.consent.grant_consent(child_id, grant_body(values, datetime.now(UK)))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import Depends, Form

from schemas.events.consent import ConsentGiver
from services.common.directory import Directory
from services.web.forms import FormErrors
from services.web.templating import UK
from services.web.views.deps import Page
from services.web.words import AGENCIES, CATEGORIES, PURPOSES

PERIODS = {"12": "12 months (consent is reviewed every year)", "6": "6 months", "3": "3 months"}
RELATIONSHIPS = ("mother", "father", "carer", "guardian", "other")

# The consent API's field (in its 422) -> the input's id on the form.
API_FIELDS = {
    "given_by.name": "given-by-name", "given_by.relationship": "relationship",
    "given_by.has_parental_responsibility": "pr", "recipients": "organisations",
    "recipients.organisation_ids": "organisations", "recipients.agencies": "agencies",
    "categories": "categories", "purposes": "purposes", "expires_at": "period", "valid_from": "period",
}


def agencies() -> dict[str, str]:
    """The kinds of agency a consent may name (never parents: they see their child's record anyway)."""
    return {k: v for k, v in AGENCIES.items() if k != "parent"}


def blank(**given: Any) -> dict[str, Any]:
    """The answers of a form not yet filled in (12 months chosen)."""
    return {**given, "organisations": [], "agencies": [], "categories": [], "purposes": [], "period": "12"}


async def submitted(
    given_by_name: Annotated[str, Form()] = "",
    relationship: Annotated[str, Form()] = "",
    relationship_other: Annotated[str, Form()] = "",
    pr: Annotated[str, Form()] = "",
    organisation: Annotated[list[str] | None, Form()] = None,
    agency: Annotated[list[str] | None, Form()] = None,
    category: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[list[str] | None, Form()] = None,
    period: Annotated[str, Form()] = "12",
) -> dict[str, Any]:
    """The posted form as it came (read by `read_answers`)."""
    return {"given_by_name": given_by_name, "relationship": relationship, "relationship_other": relationship_other,
            "pr": pr, "organisation": organisation or [], "agency": agency or [], "category": category or [],
            "purpose": purpose or [], "period": period}


Submitted = Annotated[dict[str, Any], Depends(submitted)]


# The consent contract's limit on a relationship, read from it. Checked here too: the answers
# are kept in the session cookie until confirmed, and a longer one made a cookie larger than
# browsers keep, so the answers were lost without a word.
RELATIONSHIP_MAX: int = ConsentGiver.model_json_schema()["properties"]["relationship"]["maxLength"]


@dataclass(frozen=True)
class ErrorWords:
    """What each form says when an answer is missing, in its own voice ("their" or "your")."""

    name_missing: str
    name_too_long: str
    relationship: str
    relationship_other: str
    relationship_too_long: str
    pr: str
    purposes: str
    period: str


def read_answers(form: dict[str, Any], directory: Directory, words: ErrorWords) -> tuple[dict[str, Any], FormErrors]:
    """The answers to keep (unknown choices dropped) and what is wrong with them."""
    values = {
        "given_by_name": form["given_by_name"].strip(), "relationship": form["relationship"].strip(),
        # Kept only where it is the answer, so no text typed before "mother" was chosen goes on.
        "relationship_other": form["relationship_other"].strip() if form["relationship"].strip() == "other" else "",
        "pr": form["pr"],
        "organisations": [o for o in form["organisation"] if o in directory],
        "agencies": [a for a in form["agency"] if a in agencies()],
        "categories": [c for c in form["category"] if c in CATEGORIES],
        "purposes": [p for p in form["purpose"] if p in PURPOSES],
        "period": form["period"] if form["period"] in PERIODS else "",
    }
    errors = FormErrors()
    if not values["given_by_name"]:
        errors.add("given-by-name", words.name_missing)
    elif len(values["given_by_name"]) > 200:
        errors.add("given-by-name", words.name_too_long)
    if values["relationship"] not in RELATIONSHIPS:
        errors.add("relationship", words.relationship)
    elif values["relationship"] == "other" and not values["relationship_other"]:
        errors.add("relationship-other", words.relationship_other)
    elif len(values["relationship_other"]) > RELATIONSHIP_MAX:
        errors.add("relationship-other", words.relationship_too_long)
    if values["pr"] not in ("yes", "no"):
        errors.add("pr", words.pr)
    if not values["organisations"] and not values["agencies"]:
        errors.add("organisations", "Select at least one organisation or kind of service")
    if not values["categories"]:
        errors.add("categories", "Select at least one kind of information")
    if not values["purposes"]:
        errors.add("purposes", words.purposes)
    if not values["period"]:
        errors.add("period", words.period)
    return values, errors


def drafts(page: Page, key: str) -> dict[str, Any]:
    """The drafts in the session under `key`, by child id (one at a time, so the cookie stays small)."""
    found = page.request.session.get(key)
    return found if isinstance(found, dict) else {}


def relationship(values: dict[str, Any]) -> str:
    return values["relationship_other"] if values["relationship"] == "other" else values["relationship"]


def months_after(start: datetime, months: int) -> datetime:
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = start.day
    while True:
        try:
            return start.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1


def expires_at(values: dict[str, Any], now: datetime) -> datetime:
    """The end of the day in UK time, `period` months from today."""
    end_day = months_after(now.astimezone(UK), int(values["period"])).date()
    return datetime.combine(end_day, time(23, 59), tzinfo=UK)


def grant_body(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The consent API's request for these answers."""
    return {
        "given_by": {"name": values["given_by_name"], "relationship": relationship(values),
                     "has_parental_responsibility": values["pr"] == "yes"},
        "recipients": {"organisation_ids": values["organisations"], "agencies": values["agencies"]},
        "categories": values["categories"], "purposes": values["purposes"],
        "expires_at": expires_at(values, now).isoformat(),
    }
