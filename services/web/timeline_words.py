"""A timeline entry in plain words (UI.md): who wrote it, *what happened* from the event's type
and data, and *why the viewer can see it* from the timeline API's `basis`. Pure apart from the
directory it is given."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from schemas.catalogue import EVENT_TYPES
from services.common.directory import Directory
from services.web.templating import UK, date_words
from services.web.words import AGENCIES, AREAS_OF_NEED, CATEGORIES, JOINED_THROUGH, words


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


# What happened, by the event's kind: a template over the event's data, where `{x!o}` is the
# organisation named by the id x, `{x!d}` the date x in words and `{by}` the author's
# organisation; (template, field, more) adds `more` only when the data has `field`.
DESCRIPTIONS: dict[str, str | tuple[str, str, str]] = {
    "child_registered": "Registered with {setting_organisation_id!o}",
    "concern_raised": ("Concern raised ({areas}): {summary}", "evidence", " Evidence: {evidence}"),
    "referral_made": "Referred to {to_organisation_id!o}: {reason}",
    "referral_accepted": "{by} accepted the referral from {requested_by_organisation_id!o}",
    "referral_declined": "{by} declined the referral from {requested_by_organisation_id!o}: {reason}",
    "referral_withdrawn": "Referral withdrawn: {reason}",
    "referral_closed": "Referral closed: {outcome}",
    "team_member_joined": ("{organisation_id!o} joined the team", "how", " ({how})"),
    "team_member_left": ("{organisation_id!o} left the team", "reason", ": {reason}"),
    "invitation_sent": ("{organisation_id!o} invited to join the team", "message", ": “{message}”"),
    "invitation_declined": ("{organisation_id!o} declined the invitation to join the team", "reason", ": {reason}"),
    "key_person_named": ("Key person named", "buddy_id", " with a buddy for when they are away"),
    "consent_withdrawn": "A consent was withdrawn",
    "consent_expired": "A consent expired",
    "slt_report_shared": "Speech and language therapy report shared: {assessment_summary} Programme: {programme}",
    "ep_advice_shared": "Educational psychology advice shared: {summary}",
    "family_support_offered": "Family support offered: {summary}",
    "transition_to_school_planned": "Move to {school_organisation_id!o} planned for {starts_on!d}: {plan_summary}",
    "transition_to_school_completed": "Started at {school_organisation_id!o} on {completed_on!d}",
}


class _EventWords(string.Formatter):
    """Formats a DESCRIPTIONS template over an event's data (a field it lacks is empty)."""

    def __init__(self, data: Mapping[str, Any], names: Names) -> None:
        self.data, self.names = data, names

    def get_value(self, key: Any, args: Any, kwargs: Mapping[str, Any]) -> Any:
        return kwargs[key] if key in kwargs else self.data.get(key, "")

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "o":
            return self.names.org(value)
        if conversion == "d":
            return _d(value)
        return super().convert_field(value, conversion)


def describe(entry: Mapping[str, Any], names: Names) -> str:
    """What happened, in plain words, from the entry's type and data (the API's summary when
    the type, version included, is one this build does not know: a `…team_member_left.v2` is
    not a v1 and its data may not be shaped like one, e.g. a newer producer's placeholder)."""
    t = str(entry.get("type") or "")
    d = entry.get("data") or {}
    kind = t.split(".")[2] if t in EVENT_TYPES else ""
    if kind == "consent_granted":
        return _consent_granted(d, names)
    found = DESCRIPTIONS.get(kind)
    if found is None:
        return str(entry.get("summary") or "Something was recorded")
    template, optional, more = found if isinstance(found, tuple) else (found, "", "")
    extra = {"by": names.org((entry.get("author") or {}).get("organisation_id")),
             "areas": ", ".join(words(a, AREAS_OF_NEED).lower() for a in d.get("areas_of_need") or ()),
             "how": JOINED_THROUGH.get(str(d.get("joined_through")), "")}
    formatter = _EventWords(d, names)
    text = formatter.format(template, **extra)
    return text + (formatter.format(more, **extra) if optional and (extra.get(optional) or d.get(optional)) else "")


def _consent_granted(d: Mapping[str, Any], names: Names) -> str:
    cats = ", ".join(words(c, CATEGORIES).lower() for c in d.get("categories") or ())
    rec = d.get("recipients") or {}
    to = [names.org(o) for o in rec.get("organisation_ids") or ()] + \
         [f"any {words(a, AGENCIES)} on the team" for a in rec.get("agencies") or ()]
    given = (d.get("given_by") or {}).get("relationship") or "a parent"
    until = _d(d.get("expires_at"))
    return f"Consent given by the child’s {given}: {', '.join(to)} may see {cats}" + (f" until {until}" if until else "")


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
