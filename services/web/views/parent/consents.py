"""Who can see [child]'s information: each consent as a sentence, what it lets whom see, for
what and until when, and who recorded it; withdraw one (a page that says exactly what changes
at once first); give a new one (the practitioners' questions, asked of the parent, then check
your answers); and a matrix of the team's organisations × kinds of information, ticked where a
consent lets them see it. The matrix is display only, derived from the consents and the team
the APIs answer with: the APIs still decide every read."""

from __future__ import annotations

import asyncio

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.templating import UK
from services.web.views.consent_answers import (
    PERIODS, RELATIONSHIP_MAX, RELATIONSHIPS, ErrorWords, Submitted, agencies, blank, expires_at, relationship,
)
from services.web.views.consent_journey import ConsentJourney
from services.web.views.deps import Page, ParentPage
from services.web.views.parent.common import (
    CATEGORIES, PURPOSES, Names, agency_plural, base, category_phrase, day, done, done_page, listing, names_for,
    parent_child, purpose_phrase,
)
from services.web.words import organisations

router = APIRouter()

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
                     "cells": [(cat, cat in seen) for cat in CATEGORIES],
                     "seen": [label for cat, (label, _hint) in CATEGORIES.items() if cat in seen]})
    return rows


async def _consents_and_team(page: Page, child_id: UUID) -> tuple[list[dict], list[dict]]:
    assert page.apis is not None
    listed, on_team = await asyncio.gather(page.apis.consent.consents(child_id), page.apis.referrals.team(child_id))
    team = on_team.get("members") or []
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
    done(page, child_id, kind="withdrawn", consent_id=consent_id)
    return RedirectResponse(f"{base(child)}/consents/withdrawn", status_code=303)


@router.get("/your-child/{child_id}/consents/withdrawn")
async def withdrawn(page: ParentPage, child_id: UUID) -> Response:
    """What was withdrawn, read again from the consent API (the session kept only its id)."""
    async def words(child: dict, what: dict[str, str]) -> dict[str, Any]:
        consent, _, team = await _consent(page, child_id, UUID(what["consent_id"]))
        return {"withdrawn": sentence(consent, team, names_for(page), page, child["first_name"])}

    return await done_page(page, child_id, "withdrawn", "parent/withdrawn.html", "/who-can-see",
                           needs=("consent_id",), words=words)


# -- give a new consent -------------------------------------------------------------------------


def _error_words(child: dict) -> ErrorWords:
    return ErrorWords(
        name_missing="Enter your full name",
        name_too_long="Your name must be 200 characters or fewer",
        relationship=f"Select your relationship to {child['first_name']}",
        relationship_other=f"Enter your relationship to {child['first_name']}",
        relationship_too_long=f"Your relationship to {child['first_name']} must be {RELATIONSHIP_MAX} characters or fewer",
        pr="Select whether you have parental responsibility",
        purposes="Select at least one reason",
        period="Select how long your consent lasts",
    )


async def _form(page: Page, child_id: UUID, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    assert page.apis is not None
    team = (await page.apis.referrals.team(child_id)).get("members") or []
    directory = page.request.app.state.directory
    on_team = {m.get("organisation_id") for m in team}
    orgs = organisations(directory)
    orgs.sort(key=lambda o: (o["id"] not in on_team, o["name"]))
    for o in orgs:
        o["on_team"] = o["id"] in on_team
    return await page.render("parent/consent_new.html", child=child, values=values, errors=errors,
                             status_code=status_code, organisations=orgs, agencies=agencies(), categories=CATEGORIES,
                             purposes=PURPOSES, periods=PERIODS, relationships=RELATIONSHIPS)


def _check(page: Page, child_id: UUID, child: dict, values: dict, errors: FormErrors, status_code: int = 200):
    now = datetime.now(UK)
    return page.render("parent/consent_check.html", child=child, values=values, errors=errors,
                       status_code=status_code, relationship=relationship(values), agencies=agencies(),
                       categories=CATEGORIES, purposes=PURPOSES, starts=day(now), expires=day(expires_at(values, now)))


JOURNEY = ConsentJourney(
    prefix="/your-child", draft_key="parent_consent_draft", error_words=_error_words, form=_form, check=_check,
    not_yet_known="TAC is still setting up your child’s record. Wait a few seconds, then select “Give consent” again.")


@router.get("/your-child/{child_id}/consents/new")
async def consent_form(page: ParentPage, child_id: UUID) -> Response:
    assert page.person is not None
    child = await parent_child(page, child_id)
    return await _form(page, child_id, child, JOURNEY.draft(page, child_id) or blank(given_by_name=page.person.name),
                       FormErrors())


@router.post("/your-child/{child_id}/consents/new")
async def consent_answers(page: ParentPage, child_id: UUID, form: Submitted) -> Response:
    return await JOURNEY.answers(page, child_id, await parent_child(page, child_id), form)


@router.get("/your-child/{child_id}/consents/check")
async def check_answers(page: ParentPage, child_id: UUID) -> Response:
    return await JOURNEY.check_page(page, child_id, await parent_child(page, child_id))


@router.post("/your-child/{child_id}/consents/check")
async def give(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)

    def given(consent: dict[str, Any], body: dict[str, Any]) -> str:
        done(page, child_id, kind="given", until=day(consent.get("expires_at") or body["expires_at"]))
        return f"{base(child)}/consents/given"

    return await JOURNEY.grant(page, child_id, child, given)


@router.get("/your-child/{child_id}/consents/given")
async def given(page: ParentPage, child_id: UUID) -> Response:
    return await done_page(page, child_id, "given", "parent/consent_given.html", "/who-can-see")
