"""The team around [child]: who is on it, since when and why, in words; add an organisation from
the directory (a parent adds directly: the setting invites instead); remove one, after a page
that says what that changes (its own records stay its own)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.views.deps import Page, ParentPage
from services.web.views.parent.common import base, day, done, parent_child, said_done, take_done
from services.web.words import organisations

router = APIRouter()


def why_words(member: dict[str, Any], page: Page) -> str:
    through = str(member.get("joined_through") or "")
    by = member.get("invited_by")
    text = {
        "registered": "your child’s early years setting, where they are registered",
        "referral_accepted": "accepted a referral",
        "ehc_request": "asked to carry out an EHC needs assessment",
        "advice_request": "asked for EHC advice",
        "review_partner": "asked to join the integrated review",
        "transition_plan": "the school named in the plan for starting school",
        "invitation": f"invited by {by}" if by else "accepted an invitation",
        "parent": "added by you",
    }.get(through, through.replace("_", " "))
    return text[:1].upper() + text[1:]


async def _team(page: Page, child_id: UUID) -> list[dict[str, Any]]:
    assert page.apis is not None
    return list((await page.apis.referrals.team(child_id)).get("members") or ())


@router.get("/your-child/{child_id}/team")
async def team_page(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    members = [{**m, "since_words": day(m.get("since")), "why": why_words(m, page),
                "removable": m.get("organisation_id") != child.get("setting_organisation_id")}
               for m in await _team(page, child_id)]
    changed = take_done(page, child_id, "team", needs=("change", "organisation"))
    shown = await page.render("parent/team.html", child=child, members=members, done=_change_words(changed, child))
    if changed:
        said_done(page)
    return shown


def _change_words(changed: dict[str, str] | None, child: dict) -> str | None:
    """The banner saying what the parent just changed, worded as it is shown (the session kept
    only which organisation and which change, not the child's name)."""
    if changed is None:
        return None
    on = "is now on" if changed["change"] == "added" else "is no longer on"
    return f"{changed['organisation']} {on} {child['first_name']}’s team"


def _choices(page: Page, members: list[dict[str, Any]]) -> list[dict[str, str]]:
    return organisations(page.request.app.state.directory, exclude=[m.get("organisation_id") for m in members])


@router.get("/your-child/{child_id}/team/add")
async def add_form(page: ParentPage, child_id: UUID) -> Response:
    child = await parent_child(page, child_id)
    members = await _team(page, child_id)
    return await page.form("parent/team_add.html", child=child, choices=_choices(page, members))


@router.post("/your-child/{child_id}/team/add")
async def add(page: ParentPage, child_id: UUID, organisation: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    members = await _team(page, child_id)
    choices = _choices(page, members)
    apis = page.apis
    errors = FormErrors()
    if organisation not in {c["id"] for c in choices}:
        errors.add("organisation", "Select the organisation to add to the team")

    async def send() -> None:
        added = await apis.referrals.add_team_member(child_id, {"organisation_id": organisation})
        done(page, child_id, kind="team", change="added", organisation=added.get("organisation_name") or organisation)

    return await page.submit(errors, send, done=f"{base(child)}/team", template="parent/team_add.html", child=child,
                             choices=choices, values={"organisation": organisation},
                             fields={"organisation_id": "organisation"}, conflict_on="organisation")


async def _member(page: Page, child: dict, child_id: UUID, organisation_id: str) -> dict[str, Any]:
    members = await _team(page, child_id)
    found = next((m for m in members if m.get("organisation_id") == organisation_id), None)
    if found is None or organisation_id == child.get("setting_organisation_id"):
        raise PageNotFound()
    return found


@router.get("/your-child/{child_id}/team/{organisation_id}/remove")
async def remove_page(page: ParentPage, child_id: UUID, organisation_id: str) -> Response:
    child = await parent_child(page, child_id)
    member = await _member(page, child, child_id, organisation_id)
    return await page.form("parent/team_remove.html", child=child, member=member)


@router.post("/your-child/{child_id}/team/{organisation_id}/remove")
async def remove(page: ParentPage, child_id: UUID, organisation_id: str,
                 reason: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await parent_child(page, child_id)
    member = await _member(page, child, child_id, organisation_id)
    apis = page.apis
    errors = FormErrors()
    reason = errors.check_text("reason", reason, empty="Enter why you are removing them",
                               too_long="The reason must be 4000 characters or fewer")

    async def send() -> None:
        await apis.referrals.remove_team_member(child_id, organisation_id, {"reason": reason})
        done(page, child_id, kind="team", change="removed", organisation=member.get("organisation_name"))

    return await page.submit(errors, send, done=f"{base(child)}/team", template="parent/team_remove.html", child=child,
                             member=member, values={"reason": reason}, fields={"reason": "reason"})
