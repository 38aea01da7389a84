"""Plain words for TAC's vocabulary (UI.md: names, never ids or codes): agencies, data
categories with hints, purposes, areas of need, team roles and routes (a timeline entry's
"what happened" and why the viewer can see it: timeline_words.py).

Pure apart from the directory it is given; `install_words(templates, directory)` (bootstrap)
makes the filters `org_name`, `agency_words`, `category_words`, `area_words` available to every
template."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.templating import Jinja2Templates

from services.common.directory import Directory

AGENCIES: dict[str, str] = {
    "setting": "early years setting",
    "area_senco": "area SENCO team",
    "ep_service": "educational psychology service",
    "slt_service": "speech and language therapy service",
    "health_visiting": "health visiting service",
    "childrens_centre": "family hub",
    "la_sen_team": "local authority SEN team",
    "school": "school",
    "parent": "parent or carer",
}

# What a consent may cover, with the hint a parent is read when giving it.
CATEGORIES: dict[str, tuple[str, str]] = {
    "concern": ("Concerns", "Concerns the setting has raised about the child’s development"),
    "referral": ("Referrals and the team", "Referrals to other services, their answers, and who is on the team"),
    "progress": ("Progress", "Progress checks and outcomes, such as the review at two"),
    "health": ("Health", "Health visiting records, such as the 2 to 2½ year review"),
    "slt": ("Speech and language therapy", "Speech and language therapy reports and programmes"),
    "ep": ("Educational psychology", "Educational psychologists’ advice"),
    "ehc": ("EHC needs assessment", "The education, health and care needs assessment and plan"),
    "transition": ("Starting school", "Plans for moving to school"),
    "family_support": ("Family support", "Support offered to the family, such as by a family hub"),
    "consent": ("Consents", "The consents themselves: who may see what"),
}

PURPOSES: dict[str, str] = {
    "referral": "Referral to other services",
    "assessment": "Assessment (for example, an EHC needs assessment)",
    "coordination": "Coordinating the team around the child",
    "transition": "Moving to school",
}

AREAS_OF_NEED: dict[str, str] = {
    "communication_and_interaction": "Communication and interaction",
    "cognition_and_learning": "Cognition and learning",
    "social_emotional_and_mental_health": "Social, emotional and mental health",
    "sensory_and_or_physical": "Sensory and/or physical",
}

JOINED_THROUGH: dict[str, str] = {
    "registered": "registered the child",
    "referral_accepted": "accepted a referral",
    "ehc_request": "received an EHC needs assessment request",
    "advice_request": "was asked for EHC advice",
    "review_partner": "partner in the integrated review",
    "transition_plan": "school named in the transition plan",
    "invitation": "accepted an invitation",
    "parent": "added by a parent",
}

ROLES: dict[str, str] = {
    "setting": "Setting",
    "senco": "SENCO",
    "area_senco": "Area SENCO",
    "slt": "Speech and language therapy",
    "health_visitor": "Health visitor",
    "educational_psychologist": "Educational psychologist",
    "sen_caseworker": "SEN caseworker",
    "family_worker": "Family worker",
    "reception_teacher": "Reception teacher",
    "key_person": "Key person",
}


def sentence(text: str | None) -> str:
    """The first letter upper case, the rest as written (Jinja's `capitalize` lowercases
    "SENCO")."""
    text = str(text or "")
    return text[:1].upper() + text[1:]


def words(value: Any, table: Mapping[str, Any]) -> str:
    found = table.get(str(value))
    if isinstance(found, tuple):
        found = found[0]
    return found or str(value).replace("_", " ")


def role_words(role: str | None) -> str:
    if not role:
        return ""
    text = ROLES.get(role) or role.replace("_", " ")
    return text[0].upper() + text[1:]


def install_words(templates: Jinja2Templates, directory: Directory) -> None:
    env = templates.env
    env.globals["directory"] = directory
    env.filters.update(
        org_name=lambda organisation_id: directory.name_of(organisation_id) or "An organisation not in the directory",
        agency_words=lambda agency: words(agency, AGENCIES),
        category_words=lambda category: words(category, CATEGORIES),
        area_words=lambda area: words(area, AREAS_OF_NEED),
        purpose_words=lambda purpose: words(purpose, PURPOSES),
        role_words=role_words,
        sentence=sentence,
    )


def organisations(directory: Directory, exclude: Iterable[str] = ()) -> list[dict[str, str]]:
    """The directory as select/checkbox items: name, with the kind of agency as a hint."""
    skip = set(exclude)
    return [{"id": o.id, "name": o.name, "agency": o.agency.value, "agency_words": words(o.agency.value, AGENCIES)}
            for o in directory if o.id not in skip]
