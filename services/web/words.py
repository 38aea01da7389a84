"""Plain words for TAC's vocabulary (UI.md: names, never ids or codes): agencies, data
categories with hints, purposes, areas of need, team roles and routes, a timeline entry's
"what happened", and *why the viewer can see it* from the timeline API's `basis`.

Pure apart from the directory it is given; `install_words(templates, directory)` (bootstrap)
makes the filters `org_name`, `agency_words`, `category_words`, `area_words` available to every
template."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from fastapi.templating import Jinja2Templates

from services.common.directory import Directory
from services.web.templating import UK, date_words

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


class Names:
    """Organisation names from the directory; people by name only where the web honestly knows
    them (in development, the fictional cast of the story), otherwise their organisation."""

    def __init__(self, directory: Directory, people: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.people = dict(people or {})

    def org(self, organisation_id: str | None) -> str:
        if not organisation_id:
            return ""
        return self.directory.name_of(organisation_id) or "An organisation not in the directory"

    def person(self, practitioner_id: str | None) -> str | None:
        return self.people.get(practitioner_id or "")

    def who(self, author: Mapping[str, Any]) -> str:
        org = self.org(author.get("organisation_id"))
        name = self.person(author.get("practitioner_id"))
        if author.get("agency") == "parent":
            return name or "A parent"
        if name and org:
            return f"{name}, {org}"
        return name or org or "Someone"


def _d(value: Any) -> str:
    return date_words(value) if value else ""


def describe(entry: Mapping[str, Any], names: Names) -> str:
    """What happened, in plain words, from the entry's type and data (the API's summary when
    the type is one this page does not know)."""
    t = str(entry.get("type") or "")
    d = entry.get("data") or {}
    org = names.org
    kind = t.split(".")[2] if t.count(".") >= 3 else ""
    if kind == "child_registered":
        return f"Registered with {org(d.get('setting_organisation_id'))}"
    if kind == "concern_raised":
        areas = ", ".join(words(a, AREAS_OF_NEED).lower() for a in d.get("areas_of_need") or ())
        text = f"Concern raised ({areas}): {d.get('summary', '')}"
        return text + (f" Evidence: {d['evidence']}" if d.get("evidence") else "")
    if kind == "referral_made":
        return f"Referred to {org(d.get('to_organisation_id'))}: {d.get('reason', '')}"
    by = org((entry.get("author") or {}).get("organisation_id"))
    if kind == "referral_accepted":
        return f"{by} accepted the referral from {org(d.get('requested_by_organisation_id'))}"
    if kind == "referral_declined":
        return f"{by} declined the referral from {org(d.get('requested_by_organisation_id'))}: {d.get('reason', '')}"
    if kind == "referral_withdrawn":
        return f"Referral withdrawn: {d.get('reason', '')}"
    if kind == "referral_closed":
        return f"Referral closed: {d.get('outcome', '')}"
    if kind == "team_member_joined":
        how = JOINED_THROUGH.get(str(d.get("joined_through")), "")
        return f"{org(d.get('organisation_id'))} joined the team" + (f" ({how})" if how else "")
    if kind == "team_member_left":
        text = f"{org(d.get('organisation_id'))} left the team"
        return text + (f": {d['reason']}" if d.get("reason") else "")
    if kind == "invitation_sent":
        text = f"{org(d.get('organisation_id'))} invited to join the team"
        return text + (f": “{d['message']}”" if d.get("message") else "")
    if kind == "invitation_declined":
        text = f"{org(d.get('organisation_id'))} declined the invitation to join the team"
        return text + (f": {d['reason']}" if d.get("reason") else "")
    if kind == "key_person_named":
        return "Key person named" + (" with a buddy for when they are away" if d.get("buddy_id") else "")
    if kind == "consent_granted":
        cats = ", ".join(words(c, CATEGORIES).lower() for c in d.get("categories") or ())
        rec = d.get("recipients") or {}
        to = [org(o) for o in rec.get("organisation_ids") or ()] + \
             [f"any {words(a, AGENCIES)} on the team" for a in rec.get("agencies") or ()]
        given = (d.get("given_by") or {}).get("relationship") or "a parent"
        until = _d(d.get("expires_at"))
        return f"Consent given by the child’s {given}: {', '.join(to)} may see {cats}" + (f" until {until}" if until else "")
    if kind == "consent_withdrawn":
        return "A consent was withdrawn"
    if kind == "consent_expired":
        return "A consent expired"
    if kind == "slt_report_shared":
        return f"Speech and language therapy report shared: {d.get('assessment_summary', '')} Programme: {d.get('programme', '')}"
    if kind == "ep_advice_shared":
        return f"Educational psychology advice shared: {d.get('summary', '')}"
    if kind == "family_support_offered":
        return f"Family support offered: {d.get('summary', '')}"
    if kind == "transition_to_school_planned":
        return f"Move to {org(d.get('school_organisation_id'))} planned for {_d(d.get('starts_on'))}: {d.get('plan_summary', '')}"
    if kind == "transition_to_school_completed":
        return f"Started at {org(d.get('school_organisation_id'))} on {_d(d.get('completed_on'))}"
    return str(entry.get("summary") or "Something was recorded")


def _consent_words(consent: Mapping[str, Any] | None) -> str:
    if not consent:
        return "a parent’s consent"
    giver = consent.get("given_by") or {}
    name, rel = giver.get("name"), giver.get("relationship")
    who = f"{name} ({rel})" if name and rel else (name or rel or "a parent")
    given = consent.get("valid_from") or consent.get("recorded_at")
    text = f"consent given by {who}"
    if given:
        text += f" on {_day(given)}"
    if consent.get("expires_at"):
        text += f", until {_day(consent['expires_at'])}"
    return text


def _day(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UK).date() if value.tzinfo else value.date()
    return f"{value.day} {value:%B %Y}"


def _time_words(value: Any, today: date | None = None) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(UK) if value.tzinfo else value
    today = today or datetime.now(UK).date()
    if local.date() == today:
        day = "today"
    elif (local.date() - today).days == 1:
        day = "tomorrow"
    else:
        day = _day(local)
    return f"{local:%H:%M} {day}"


def basis_words(basis: str, consents: Mapping[str, Mapping[str, Any]] | None = None,
                grants: Mapping[str, Mapping[str, Any]] | None = None, today: date | None = None) -> str:
    """Why the viewer can see an entry, from the timeline API's `basis`. Consent details come
    from the consent API's list (only the setting and a parent may read it: others are told
    "a parent's consent")."""
    if basis == "own":
        return "Your organisation’s record"
    if basis == "own_request":
        return "Answers your organisation’s request"
    if basis == "parent":
        return "You are the child’s parent"
    kind, _, ident = basis.partition(":")
    if kind == "consent":
        text = _consent_words((consents or {}).get(ident))
        return text[0].upper() + text[1:]
    if kind == "safeguarding":
        grant = (grants or {}).get(ident) or {}
        until = grant.get("expires_at")
        return f"Safeguarding access until {_time_words(until, today)}" if until else "Safeguarding access"
    return "Shown to you by TAC"


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
