"""Who can see [child]'s information: each consent as a sentence, what it lets whom see, for
what and until when, and who recorded it; withdraw one (a page that says exactly what changes
at once first); give a new one (the practitioners' questions, asked of the parent, then check
your answers); and a matrix of the team's organisations × kinds of information, ticked where a
consent lets them see it. The matrix is display only, derived from the consents and the team
the APIs answer with: the APIs still decide every read."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.templating import UK
from services.web.views.consent import PERIODS, RELATIONSHIPS, months_after
from services.web.views.deps import Page, ParentPage
from services.web.views.parent.common import (
    AGENCIES, CATEGORIES, PURPOSES, Names, agency_plural, base, category_phrase, day, done, listing, names_for,
    parent_child, purpose_phrase, take_done,
)
from services.web.words import organisations

router = APIRouter()

DRAFT_KEY = "parent_consent_draft"
_API_FIELDS = {
    "given_by.name": "given-by-name", "given_by.relationship": "relationship",
    "given_by.has_parental_responsibility": "pr", "recipients": "organisations",
    "recipients.organisation_ids": "organisations", "recipients.agencies": "agencies",
    "categories": "categories", "purposes": "purposes", "expires_at": "period", "valid_from": "period",
}


def _agencies() -> dict[str, str]:
    return {k: v for k, v in AGENCIES.items() if k != "parent"}


# -- the consents in words ---------------------------------------------------------------------


def covers(consent: dict[str, Any], member: dict[str, Any]) -> bool:
    rec = consent.get("recipients") or {}
    return member.get("organisation_id") in (rec.get("organisation_ids") or ()) or \
        member.get("agency") in (rec.get("agencies") or ())


def recipients_words(consent: dict[str, Any], team: list[dict[str, Any]], names: Names, first_name: str) -> str:
    rec = consent.get("recipients") or {}
    parts = [names.org(o) for o in rec.get("organisation_ids") or ()]
    for agency in rec.get("agencies") or ():
        now = [m["organisation_name"] for m in team if m.get("agency") == agency and m.get("organisation_name")]
        text = f"any {agency_plural(agency)} on {first_name}’s team"
        parts.append(text + (f" (now {listing(now)})" if now else ""))
    text = listing(parts) or "Nobody"
    return text[0].upper() + text[1:]


def recorded_words(consent: dict[str, Any], names: Names, page: Page) -> str:
    by = consent.get("recorded_by") or {}
    when = day(consent.get("recorded_at"))
    if not consent.get("recorded_on_behalf") or by.get("agency") == "parent":
        mine = page.person is not None and by.get("practitioner_id") == page.person.practitioner_id
        return f"given by {'you' if mine else 'a parent'} on {when}"
    org = names.org(by.get("organisation_id"))
    person = names.person(by.get("practitioner_id"))
    who = f"{person} at {org}" if person else f"a practitioner at {org}"
    return f"recorded by {who} on your behalf on {when}"


def sentence(consent: dict[str, Any], team: list[dict[str, Any]], names: Names, page: Page, first_name: str) -> str:
    cats = listing([category_phrase(c) for c in consent.get("categories") or ()])
    purposes = listing([purpose_phrase(p) for p in consent.get("purposes") or ()])
    until = day(consent.get("expires_at"))
    return (f"{recipients_words(consent, team, names, first_name)} can see {cats}, for {purposes}, until {until} — "
            f"{recorded_words(consent, names, page)}")


def matrix(consents: list[dict[str, Any]], team: list[dict[str, Any]]) -> list[dict[str, Any]]:
    active = [c for c in consents if c.get("status") == "active"]
    rows = []
    for member in team:
        seen = {cat for c in active if covers(c, member) for cat in c.get("categories") or ()}
        rows.append({"name": member.get("organisation_name") or member.get("organisation_id"),
                     "cells": [(cat, cat in seen) for cat in CATEGORIES]})
    return rows


async def _consents_and_team(page: Page, child_id: UUID) -> tuple[list[dict], list[dict]]:
    assert page.apis is not None
    listed = await page.apis.consent.consents(child_id)
    team = (await page.apis.referrals.team(child_id)).get("members") or []
    order = {"active": 0, "not_yet_started": 1, "expired": 2, "withdrawn": 3}
    consents = sorted(listed.get("consents") or (), key=lambda c: (order.get(str(c.get("status")), 4),
                                                                    str(c.get("recorded_at") or "")))
    return consents, team


@router.get("/your-child/{child_id}/who-can-see")
async def who_can_see(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    consents, team = await _consents_and_team(page, child_id)
    names = names_for(page)
    items = [{**c, "sentence": sentence(c, team, names, page, child["first_name"]),
              "ended": day((c.get("withdrawal") or {}).get("withdrawn_at")) if c.get("status") == "withdrawn" else ""}
             for c in consents]
    return await page.render("parent/who_can_see.html", child=child, consents_now=[i for i in items if i["status"] in
                                                                              ("active", "not_yet_started")],
                             past=[i for i in items if i["status"] not in ("active", "not_yet_started")],
                             matrix=matrix(consents, team), categories=CATEGORIES)


# -- withdraw -----------------------------------------------------------------------------------


def what_changes(consent: dict[str, Any], others: list[dict[str, Any]], team: list[dict[str, Any]]) -> list[str]:
    """For each organisation on the team this consent covers: what it stops seeing at once, and
    what another consent still lets it see."""
    lines = []
    for member in team:
        if not covers(consent, member):
            continue
        still = {cat for c in others if c.get("status") == "active" and covers(c, member) for cat in c.get("categories") or ()}
        lost = [c for c in consent.get("categories") or () if c not in still]
        kept = [c for c in consent.get("categories") or () if c in still]
        name = member.get("organisation_name") or member.get("organisation_id")
        if lost:
            text = f"{name} will no longer see {listing([category_phrase(c) for c in lost])} shared by others"
        else:
            text = f"{name} will see nothing less: another consent you gave still covers the same information"
        if kept and lost:
            text += f" (another consent still lets it see {listing([category_phrase(c) for c in kept])})"
        lines.append(text + ".")
    return lines


async def _consent(page: Page, child_id: UUID, consent_id: UUID) -> tuple[dict, list[dict], list[dict]]:
    consents, team = await _consents_and_team(page, child_id)
    found = next((c for c in consents if str(c.get("consent_id")) == str(consent_id)), None)
    if found is None:
        raise PageNotFound()
    return found, [c for c in consents if c is not found], team


@router.get("/your-child/{child_id}/consents/{consent_id}/withdraw")
async def withdraw_page(page: ParentPage, child_id: UUID, consent_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    consent, others, team = await _consent(page, child_id, consent_id)
    if consent.get("status") not in ("active", "not_yet_started"):
        return RedirectResponse(f"{base(child)}/who-can-see", status_code=303)
    names = names_for(page)
    return await page.render("parent/withdraw.html", child=child, consent=consent,
                             sentence=sentence(consent, team, names, page, child["first_name"]),
                             changes=what_changes(consent, others, team))


@router.post("/your-child/{child_id}/consents/{consent_id}/withdraw")
async def withdraw(page: ParentPage, child_id: UUID, consent_id: UUID) -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    consent, _, team = await _consent(page, child_id, consent_id)
    await page.apis.consent.withdraw_consent(child_id, consent_id, {})
    done(page, child_id, kind="withdrawn",
         sentence=sentence(consent, team, names_for(page), page, child["first_name"]))
    return RedirectResponse(f"{base(child)}/consents/withdrawn", status_code=303)


@router.get("/your-child/{child_id}/consents/withdrawn")
async def withdrawn(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    what = take_done(page, child_id, "withdrawn")
    if what is None:
        return RedirectResponse(f"{base(child)}/who-can-see", status_code=303)
    return await page.render("parent/withdrawn.html", child=child, done=what)


# -- give a new consent -------------------------------------------------------------------------


def _drafts(page: Page) -> dict[str, Any]:
    drafts = page.request.session.get(DRAFT_KEY)
    return drafts if isinstance(drafts, dict) else {}


def _form(page: Page, child: dict, values: dict, errors: FormErrors, team: list[dict], status_code: int = 200):
    directory = page.request.app.state.directory
    on_team = {m.get("organisation_id") for m in team}
    orgs = organisations(directory)
    orgs.sort(key=lambda o: (o["id"] not in on_team, o["name"]))
    for o in orgs:
        o["on_team"] = o["id"] in on_team
    return page.render("parent/consent_new.html", child=child, values=values, errors=errors, status_code=status_code,
                       organisations=orgs, agencies=_agencies(), categories=CATEGORIES, purposes=PURPOSES,
                       periods=PERIODS, relationships=RELATIONSHIPS)


@router.get("/your-child/{child_id}/consents/new")
async def consent_form(page: ParentPage, child_id: UUID) -> Response:
    assert page.apis is not None and page.person is not None
    child = await parent_child(page, child_id)
    team = (await page.apis.referrals.team(child_id)).get("members") or []
    values = _drafts(page).get(str(child_id)) or {"given_by_name": page.person.name, "organisations": [],
                                                  "agencies": [], "categories": [], "purposes": [], "period": "12"}
    return await _form(page, child, values, FormErrors(), team)


@router.post("/your-child/{child_id}/consents/new")
async def consent_answers(
    page: ParentPage, child_id: UUID,
    given_by_name: Annotated[str, Form()] = "",
    relationship: Annotated[str, Form()] = "",
    relationship_other: Annotated[str, Form()] = "",
    pr: Annotated[str, Form()] = "",
    organisation: Annotated[list[str] | None, Form()] = None,
    agency: Annotated[list[str] | None, Form()] = None,
    category: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[list[str] | None, Form()] = None,
    period: Annotated[str, Form()] = "12",
) -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    directory = page.request.app.state.directory
    values = {
        "given_by_name": given_by_name.strip(), "relationship": relationship.strip(),
        "relationship_other": relationship_other.strip(), "pr": pr,
        "organisations": [o for o in organisation or () if o in directory],
        "agencies": [a for a in agency or () if a in _agencies()],
        "categories": [c for c in category or () if c in CATEGORIES],
        "purposes": [p for p in purpose or () if p in PURPOSES],
        "period": period if period in PERIODS else "",
    }
    errors = FormErrors()
    if not values["given_by_name"]:
        errors.add("given-by-name", "Enter your full name")
    elif len(values["given_by_name"]) > 200:
        errors.add("given-by-name", "Your name must be 200 characters or fewer")
    if values["relationship"] not in RELATIONSHIPS:
        errors.add("relationship", f"Select your relationship to {child['first_name']}")
    elif values["relationship"] == "other" and not values["relationship_other"]:
        errors.add("relationship-other", f"Enter your relationship to {child['first_name']}")
    if pr not in ("yes", "no"):
        errors.add("pr", "Select whether you have parental responsibility")
    if not values["organisations"] and not values["agencies"]:
        errors.add("organisations", "Select at least one organisation or kind of service")
    if not values["categories"]:
        errors.add("categories", "Select at least one kind of information")
    if not values["purposes"]:
        errors.add("purposes", "Select at least one reason")
    if not values["period"]:
        errors.add("period", "Select how long your consent lasts")
    if errors:
        team = (await page.apis.referrals.team(child_id)).get("members") or []
        return await _form(page, child, values, errors, team, status_code=400)
    page.request.session[DRAFT_KEY] = {str(child_id): values}
    return RedirectResponse(f"{base(child)}/consents/check", status_code=303)


def _relationship(values: dict) -> str:
    return values["relationship_other"] if values["relationship"] == "other" else values["relationship"]


def _expires_at(values: dict, now: datetime) -> datetime:
    end_day = months_after(now.astimezone(UK), int(values["period"])).date()
    return datetime.combine(end_day, time(23, 59), tzinfo=UK)


def _check(page: Page, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    now = datetime.now(UK)
    return page.render("parent/consent_check.html", child=child, values=values, errors=errors,
                       status_code=status_code, relationship=_relationship(values), agencies=_agencies(),
                       categories=CATEGORIES, purposes=PURPOSES, starts=day(now), expires=day(_expires_at(values, now)))


@router.get("/your-child/{child_id}/consents/check")
async def check_answers(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    values = _drafts(page).get(str(child_id))
    if not values:
        return RedirectResponse(f"{base(child)}/consents/new", status_code=303)
    return await _check(page, child, values, FormErrors())


@router.post("/your-child/{child_id}/consents/check")
async def give(page: ParentPage, child_id: UUID) -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    values = _drafts(page).get(str(child_id))
    if not values:
        return RedirectResponse(f"{base(child)}/consents/new", status_code=303)
    body = {
        "given_by": {"name": values["given_by_name"], "relationship": _relationship(values),
                     "has_parental_responsibility": values["pr"] == "yes"},
        "recipients": {"organisation_ids": values["organisations"], "agencies": values["agencies"]},
        "categories": values["categories"], "purposes": values["purposes"],
        "expires_at": _expires_at(values, datetime.now(UK)).isoformat(),
    }
    try:
        consent = await page.apis.consent.grant_consent(child_id, body)
    except ApiValidationError as e:
        team = (await page.apis.referrals.team(child_id)).get("members") or []
        return await _form(page, child, values, FormErrors.from_api(e, fields=_API_FIELDS), team, status_code=400)
    except NotFound:
        errors = FormErrors().add(None, "TAC is still setting up your child’s record. Wait a few seconds, then "
                                        "select “Give consent” again.")
        return await _check(page, child, values, errors, status_code=503)
    page.request.session.pop(DRAFT_KEY, None)
    done(page, child_id, kind="given", until=day(consent.get("expires_at") or body["expires_at"]))
    return RedirectResponse(f"{base(child)}/consents/given", status_code=303)


@router.get("/your-child/{child_id}/consents/given")
async def given(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    what = take_done(page, child_id, "given")
    if what is None:
        return RedirectResponse(f"{base(child)}/who-can-see", status_code=303)
    return await page.render("parent/consent_given.html", child=child, done=what)
