"""Recording a parent's consent and its withdrawal (DESIGN §3): the commands, and the rules
that turn one into a Consent and the event that announces it, or refuse it with a
DomainError naming the field at fault (so the API answers 4xx, never 500).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone
from enum import StrEnum
from uuid import UUID

from schemas.events.consent import ConsentGiver, ConsentGranted, ConsentWithdrawn, Recipients
from schemas.vocabulary import Agency, Category, Purpose
from services.common.directory import Directory
from services.common.errors import Conflict, Invalid
from services.consent.domain.access import Caller, Relationship, is_parent_of, require_parent_or_setting_on_behalf
from services.consent.domain.consents import (
    DEFAULT_CONSENT_MONTHS, ENGLAND, MAX_CONSENT_MONTHS, Consent, ConsentStatus, Giver, Withdrawal,
)


@dataclass(frozen=True)
class GrantConsent:
    given_by_name: str
    relationship: str
    has_parental_responsibility: bool
    recipient_organisations: Sequence[str]
    recipient_agencies: Sequence[Agency]
    categories: Sequence[Category]
    purposes: Sequence[Purpose]
    person_id: str | None = None
    valid_from: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class WithdrawConsent:
    parent_withdrew_on: date | None = None


def _text(value: str, field: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"{field} must not be blank", field=field)
    if len(value) > max_length:
        raise Invalid(f"{field} must be at most {max_length} characters", field=field)
    return value


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{field} must include a time zone offset", field=field)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise Invalid(f"{field} is out of range", field=field) from None


def add_months(moment: datetime, months: int) -> datetime:
    """Same day and time `months` later; the 29th-31st fall back to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    if year > 9999:
        raise OverflowError("date out of range")
    for day in sorted({moment.day, 30, 29, 28}, reverse=True):
        if day <= moment.day:
            try:
                return moment.replace(year=year, month=month, day=day)
            except ValueError:  # no such day in that month: try the one before
                continue
    return moment.replace(year=year, month=month, day=28)


def _unique(values: Sequence) -> tuple:
    """Duplicates dropped, first-given order kept."""
    return tuple(dict.fromkeys(values))


def _vocabulary(enum: type[StrEnum], values: Sequence, field: str) -> tuple:
    try:
        return _unique([enum(v) for v in values])
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise Invalid(f"{field}: unknown value; allowed: {allowed}", field=field) from None


def grant_consent(
    caller: Caller, child_id: UUID, child: Relationship, cmd: GrantConsent, *, consent_id: UUID, now: datetime,
    directory: Directory | None = None, max_months: int = MAX_CONSENT_MONTHS,
) -> tuple[Consent, ConsentGranted]:
    """`directory`: every recipient organisation must be in it (a 422 naming the field
    otherwise); None skips the check (pure rule tests)."""
    require_parent_or_setting_on_behalf(caller, child_id, child, "record consent")
    # Children Act 1989 s.3: only a person with parental responsibility consents for a child.
    if not cmd.has_parental_responsibility:
        raise Invalid("consent must be given by a person with parental responsibility",
                      field="given_by.has_parental_responsibility")
    name = _text(cmd.given_by_name, "given_by.name", 200)
    relationship = _text(cmd.relationship, "given_by.relationship", 64)
    on_behalf = caller.agency is not Agency.PARENT
    if on_behalf:
        person_id = _text(cmd.person_id, "given_by.person_id", 128) if cmd.person_id is not None else f"person-{consent_id}"
    else:
        # A parent's token speaks only for that parent: they record their own consent.
        if cmd.person_id is not None and cmd.person_id != caller.practitioner_id:
            raise Invalid("a parent records their own consent: given_by.person_id must be omitted or be your own id",
                          field="given_by.person_id")
        person_id = caller.practitioner_id

    organisations = _unique([_text(o, "recipients.organisation_ids", 128) for o in cmd.recipient_organisations])
    if directory is not None:
        for organisation_id in organisations:
            directory.require(organisation_id, "recipients.organisation_ids")
    agencies = _vocabulary(Agency, cmd.recipient_agencies, "recipients.agencies")
    if not organisations and not agencies:
        raise Invalid("name at least one recipient organisation or agency", field="recipients")
    if Agency.PARENT in agencies:
        raise Invalid("'parent' is not a recipient agency: parents always see their child's timeline",
                      field="recipients.agencies")
    categories = _vocabulary(Category, cmd.categories, "categories")
    if not categories:
        raise Invalid("name at least one category", field="categories")
    purposes = _vocabulary(Purpose, cmd.purposes, "purposes")
    if not purposes:
        raise Invalid("name at least one purpose", field="purposes")

    valid_from = _utc(cmd.valid_from, "valid_from") if cmd.valid_from is not None else now
    if cmd.expires_at is not None:
        expires_at = _utc(cmd.expires_at, "expires_at")
    else:
        try:
            expires_at = add_months(valid_from, DEFAULT_CONSENT_MONTHS)
        except OverflowError:
            raise Invalid("valid_from is too far in the future", field="valid_from") from None
    if expires_at <= valid_from:
        raise Invalid("expires_at must be after valid_from", field="expires_at")
    if expires_at <= now:
        raise Invalid("expires_at must be in the future: this consent would never be active", field="expires_at")
    try:
        latest = add_months(valid_from, max_months)
    except OverflowError:
        raise Invalid("valid_from is too far in the future", field="valid_from") from None
    if expires_at > latest:
        raise Invalid(f"expires_at must be at most {max_months} months after valid_from: consent is reviewed, "
                      "not given for ever", field="expires_at")

    consent = Consent(
        consent_id=consent_id, child_id=child_id,
        given_by=Giver(name, relationship, person_id, True),
        recorded_by=caller.as_actor(), recorded_on_behalf=on_behalf,
        recipient_organisations=organisations, recipient_agencies=agencies,
        categories=categories, purposes=purposes,
        valid_from=valid_from, expires_at=expires_at, recorded_at=now,
    )
    event = ConsentGranted(
        consent_id=consent_id,
        given_by=ConsentGiver(person_id=person_id, relationship=relationship, has_parental_responsibility=True),
        recorded_on_behalf=on_behalf,
        recipients=Recipients(organisation_ids=organisations, agencies=agencies),
        categories=categories, purposes=purposes, valid_from=valid_from, expires_at=expires_at,
    )
    return consent, event


# -- withdrawing ----------------------------------------------------------------------------


def withdraw_consent(
    caller: Caller, consent: Consent, child: Relationship, cmd: WithdrawConsent, *, now: datetime
) -> tuple[Consent, ConsentWithdrawn]:
    """Withdrawal is immediate (DESIGN §3). The parent withdraws for themselves; a
    practitioner of the child's setting may record a withdrawal the parent made to it, with
    the date the parent withdrew. Nobody else: a team member cannot end the family's consent."""
    require_parent_or_setting_on_behalf(caller, consent.child_id, child, "withdraw consent")
    if is_parent_of(caller, consent.child_id):
        if cmd.parent_withdrew_on is not None:
            raise Invalid("a parent's own withdrawal takes effect now; parent_withdrew_on is for a practitioner "
                          "recording a withdrawal", field="parent_withdrew_on")
        withdrawn_at, on_behalf = now, False
    else:
        withdrawn_at, on_behalf = _parent_withdrew_at(cmd.parent_withdrew_on, consent, now), True

    status = consent.status(now)
    if status is ConsentStatus.WITHDRAWN:
        raise Conflict(f"consent {consent.consent_id} is already withdrawn")
    if status is ConsentStatus.EXPIRED:
        raise Conflict(f"consent {consent.consent_id} has already expired")
    withdrawal = Withdrawal(withdrawn_at=withdrawn_at, recorded_at=now, recorded_on_behalf=on_behalf,
                            recorded_by=caller.as_actor())
    event = ConsentWithdrawn(consent_id=consent.consent_id, withdrawn_at=withdrawn_at, recorded_on_behalf=on_behalf)
    return replace(consent, withdrawal=withdrawal), event


def _parent_withdrew_at(day: date | None, consent: Consent, now: datetime) -> datetime:
    if day is None:
        raise Invalid("give the date the parent withdrew consent", field="parent_withdrew_on")
    today = now.astimezone(ENGLAND).date()
    if day > today:
        raise Invalid("the date the parent withdrew cannot be in the future", field="parent_withdrew_on")
    if day < consent.recorded_at.astimezone(ENGLAND).date():
        raise Invalid("the date the parent withdrew cannot be before the consent was recorded",
                      field="parent_withdrew_on")
    # The start of that day in England; never later than now, since the day is not in the future.
    return min(datetime.combine(day, time(0), tzinfo=ENGLAND).astimezone(timezone.utc), now)
