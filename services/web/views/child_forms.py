"""A setting's forms about its children: register a child, name the key person (and a buddy),
raise a concern. Only the child's setting may use them (anyone else: "Page not found", like a
made-up id); the APIs still decide on submit."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form
from fastapi.responses import Response

from services.web.dev_people import DEV_PEOPLE
from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.views.children import setting_child
from services.web.views.deps import Page, PractitionerPage
from services.web.views.form_input import date_from_parts
from services.web.words import AREAS_OF_NEED

router = APIRouter()


# -- register a child (setting) ---------------------------------------------------------------

_REGISTER_FIELDS = {"given_name": "given-name", "family_name": "family-name", "date_of_birth": "dob-day",
                    "setting_organisation_id": "given-name"}


@router.get("/children/new")
async def new_child(page: PractitionerPage) -> Response:
    _settings_only(page)
    return await page.form("children/new.html")


@router.post("/children/new")
async def register(
    page: PractitionerPage,
    given_name: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form()] = "",
    dob_day: Annotated[str, Form()] = "",
    dob_month: Annotated[str, Form()] = "",
    dob_year: Annotated[str, Form()] = "",
) -> Response:
    assert page.apis is not None
    _settings_only(page)
    values = {"given_name": given_name.strip(), "family_name": family_name.strip(),
              "dob_day": dob_day.strip(), "dob_month": dob_month.strip(), "dob_year": dob_year.strip()}
    errors = FormErrors()
    if not values["given_name"]:
        errors.add("given-name", "Enter the child’s first name")
    if not values["family_name"]:
        errors.add("family-name", "Enter the child’s last name")
    dob = date_from_parts(values["dob_day"], values["dob_month"], values["dob_year"])
    if dob is None:
        errors.add("dob-day", "Enter the child’s date of birth, for example 27 3 2024"
                   if any((values["dob_day"], values["dob_month"], values["dob_year"]))
                   else "Enter the child’s date of birth")
    apis = page.apis
    return await page.submit(
        errors, lambda: apis.referrals.register_child({
            "given_name": values["given_name"], "family_name": values["family_name"],
            "date_of_birth": dob.isoformat() if dob else None}),
        done=lambda child: f"/children/{child['child_id']}", template="children/new.html", values=values,
        fields=_REGISTER_FIELDS, messages={"date_of_birth": "Date of birth must be in the past and the child under five"})


def _settings_only(page: Page) -> None:
    if not page.person or page.person.agency != "setting":
        raise PageNotFound()


# -- key person -------------------------------------------------------------------------------


def _setting_people(page: Page) -> list[dict[str, str]]:
    """Practitioners of the viewer's setting the web knows by name (development: the cast)."""
    org = page.person.organisation_id if page.person else None
    if not page.settings.development:
        return []
    return [{"id": p.key, "name": p.name, "description": p.description} for p in DEV_PEOPLE if p.organisation_id == org]


@router.get("/children/{child_id}/key-person")
async def key_person_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await setting_child(page, child_id)
    values = {"key_person": (child.get("key_person") or {}).get("id", ""), "buddy": (child.get("buddy") or {}).get("id", "")}
    return await page.form("children/key_person.html", child=child, people=_setting_people(page), values=values)


@router.post("/children/{child_id}/key-person")
async def name_key_person(page: PractitionerPage, child_id: UUID, key_person: Annotated[str, Form()] = "",
                          buddy: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await setting_child(page, child_id)
    people = {p["id"]: p["name"] for p in _setting_people(page)}
    errors = FormErrors()
    if key_person not in people:
        errors.add("key-person", "Select the child’s key person")
    if buddy and buddy not in people:
        errors.add("buddy", "Select a buddy from the list, or no buddy")
    if key_person and buddy and key_person == buddy:
        errors.add("buddy", "The buddy must be someone other than the key person")
    apis = page.apis
    body: dict[str, Any] = {"key_person_id": key_person, "key_person_name": people.get(key_person)}
    if buddy:
        body.update(buddy_id=buddy, buddy_name=people.get(buddy))
    return await page.submit(
        errors, lambda: apis.referrals.name_key_person(child_id, body), done=f"/children/{child_id}",
        template="children/key_person.html", child=child, people=_setting_people(page),
        values={"key_person": key_person, "buddy": buddy},
        fields={"key_person_id": "key-person", "key_person_name": "key-person", "buddy_id": "buddy", "buddy_name": "buddy"})


# -- raise a concern --------------------------------------------------------------------------


@router.get("/children/{child_id}/concerns/new")
async def concern_form(page: PractitionerPage, child_id: UUID) -> Response:
    child = await setting_child(page, child_id)
    return await page.form("children/concern.html", child=child, areas=AREAS_OF_NEED, values={"areas": []})


@router.post("/children/{child_id}/concerns/new")
async def raise_concern(page: PractitionerPage, child_id: UUID,
                        areas: Annotated[list[str] | None, Form()] = None,
                        summary: Annotated[str, Form()] = "", evidence: Annotated[str, Form()] = "") -> Response:
    assert page.apis is not None
    child = await setting_child(page, child_id)
    chosen = [a for a in (areas or ()) if a in AREAS_OF_NEED]
    values = {"areas": chosen, "summary": summary.strip(), "evidence": evidence.strip()}
    errors = FormErrors()
    if not chosen:
        errors.add("areas", "Select at least one area of need")
    errors.check_text("summary", summary, empty="Describe the concern",
                      too_long="The description must be 4,000 characters or fewer")
    errors.check_text("evidence", evidence, empty=None, too_long="The evidence must be 4,000 characters or fewer")
    apis = page.apis
    return await page.submit(
        errors, lambda: apis.referrals.raise_concern(child_id, {
            "areas_of_need": chosen, "summary": values["summary"], "evidence": values["evidence"] or None}),
        done=f"/children/{child_id}", template="children/concern.html", child=child, areas=AREAS_OF_NEED,
        values=values, fields={"areas_of_need": "areas", "summary": "summary", "evidence": "evidence"})
