"""Pure command rules of the consent service (DESIGN §3): who may record, withdraw and list
consents, what a consent's status is now, when its expiry and reminder are due, and the
safeguarding break-glass grant. No I/O; the handlers load and save.

Every refusal is a `services.common.errors` DomainError whose `field` names the input at
fault, so the API answers 4xx, never 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from schemas.envelope import Actor
from schemas.events.consent import (
    ConsentExpired,
    ConsentExpiryReminderDue,
    ConsentGiver,
    ConsentGranted,
    ConsentWithdrawn,
    Recipients,
    SafeguardingAccessGranted,
)
from schemas.vocabulary import DSL_ROLE, Agency, Category, Purpose
from services.common.directory import Directory
from services.common.errors import Conflict, Forbidden, Invalid, NotFound

# Consent is reviewed yearly (DESIGN §3), so it lasts 12 months unless the parent says otherwise.
DEFAULT_CONSENT_MONTHS = 12
# And never for ever: a consent's end is at most this many months after its start (a setting,
# TAC_CONSENT_MAX_CONSENT_MONTHS) — a consent "until 9999-12-31" is no informed consent.
MAX_CONSENT_MONTHS = 24
# DESIGN §5: remind 30 days before a consent expires.
REMINDER_BEFORE = timedelta(days=30)
# Break-glass access is time-limited (HM Government, Information sharing advice for
# safeguarding practitioners, 2024); TAC allows at most 72 hours.
MAX_SAFEGUARDING = timedelta(hours=72)
MIN_JUSTIFICATION = 20
DESIGNATED_SAFEGUARDING_LEAD = DSL_ROLE
# "Not in the future" for a date a parent withdrew is judged on the calendar in England.
ENGLAND = ZoneInfo("Europe/London")


class Caller(Protocol):
    """What the rules need to know about who is asking (services.common.auth.Principal fits)."""

    practitioner_id: str
    organisation_id: str | None
    agency: Agency
    role: str
    children: frozenset[UUID]

    def as_actor(self) -> Actor: ...


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    NOT_YET_STARTED = "not_yet_started"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class Notice(StrEnum):
    """Events the expiry task emits at most once per consent."""

    EXPIRY_REMINDER = "expiry_reminder"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Giver:
    """The person with parental responsibility who gave consent. `name` stays in this
    service's store: it never goes on the bus (DESIGN §2)."""

    name: str
    relationship: str
    person_id: str
    has_parental_responsibility: bool


@dataclass(frozen=True)
class Withdrawal:
    withdrawn_at: datetime
    recorded_at: datetime
    recorded_on_behalf: bool
    recorded_by: Actor


@dataclass(frozen=True)
class Consent:
    consent_id: UUID
    child_id: UUID
    given_by: Giver
    recorded_by: Actor
    recorded_on_behalf: bool
    recipient_organisations: tuple[str, ...]
    recipient_agencies: tuple[Agency, ...]
    categories: tuple[Category, ...]
    purposes: tuple[Purpose, ...]
    valid_from: datetime
    expires_at: datetime
    recorded_at: datetime
    withdrawal: Withdrawal | None = None
    notices: frozenset[Notice] = frozenset()

    def status(self, now: datetime) -> ConsentStatus:
        """Withdrawn wins over everything: it is what the family did. Otherwise the period
        decides, half-open like the sharing decision: active from valid_from, expired at
        expires_at."""
        if self.withdrawal is not None:
            return ConsentStatus.WITHDRAWN
        if Notice.EXPIRED in self.notices or now >= self.expires_at:
            return ConsentStatus.EXPIRED
        if now < self.valid_from:
            return ConsentStatus.NOT_YET_STARTED
        return ConsentStatus.ACTIVE

    def due_notices(self, now: datetime) -> list[Notice]:
        """What the expiry task owes for this consent now (each at most once, ever)."""
        if self.withdrawal is not None:
            return []  # already ended by the family; nothing left to expire or review
        if now >= self.expires_at:
            return [] if Notice.EXPIRED in self.notices else [Notice.EXPIRED]
        if now >= self.expires_at - REMINDER_BEFORE and Notice.EXPIRY_REMINDER not in self.notices:
            return [Notice.EXPIRY_REMINDER]
        return []

    def notice_event(self, notice: Notice) -> ConsentExpired | ConsentExpiryReminderDue:
        if notice is Notice.EXPIRED:
            return ConsentExpired(consent_id=self.consent_id, expired_at=self.expires_at)
        return ConsentExpiryReminderDue(consent_id=self.consent_id, expires_at=self.expires_at)

    def system_actor(self) -> Actor:
        """Expiry and reminders are done by the service, not a person; they are attributed to
        the service, on behalf of the organisation (or parent) that recorded the consent, so
        consumers' "own record" rule treats them like the consent itself."""
        return Actor(
            practitioner_id="tac-consent-service",
            organisation_id=self.recorded_by.organisation_id,
            agency=self.recorded_by.agency,
            role="system",
        )


@dataclass(frozen=True)
class SafeguardingAccess:
    grant_id: UUID
    child_id: UUID
    organisation_id: str
    granted_by: Actor
    justification: str
    granted_at: datetime
    expires_at: datetime
    notify_role: str = DESIGNATED_SAFEGUARDING_LEAD

    def is_active(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at


@dataclass(frozen=True)
class Relationship:
    """What this service knows of who works with a child, at now: the child's setting (from
    ChildRegistered; None while the registration has not arrived) and the organisations on
    its team (folded from ChildRegistered, TeamMemberJoined and TeamMemberLeft, DESIGN §3)."""

    setting_organisation_id: str | None
    team: frozenset[str] = frozenset()

    @property
    def registered(self) -> bool:
        return self.setting_organisation_id is not None

    def works_with(self, organisation_id: str | None) -> bool:
        """The child's setting or an organisation on the child's team now."""
        return self.registered and organisation_id is not None and (
            organisation_id == self.setting_organisation_id or organisation_id in self.team)


UNKNOWN = Relationship(None)


# -- commands -------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class GrantSafeguardingAccess:
    justification: str
    hours: float = 72


# -- who may do what ------------------------------------------------------------------------


def is_parent_of(caller: Caller, child_id: UUID) -> bool:
    return caller.agency is Agency.PARENT and child_id in caller.children


def is_setting_of(caller: Caller, child: Relationship) -> bool:
    return (caller.agency is not Agency.PARENT and child.registered
            and caller.organisation_id == child.setting_organisation_id)


def works_with(caller: Caller, child: Relationship) -> bool:
    """A practitioner of the child's setting or of an organisation on the child's team now."""
    return caller.agency is not Agency.PARENT and child.works_with(caller.organisation_id)


def unknown_child(child_id: UUID) -> NotFound:
    """The one answer for a child this service does not know *and* for a child the caller has
    no relationship with (DESIGN §3: to anyone else the child does not exist), so no route
    confirms that an id is a child's."""
    return NotFound(f"child {child_id} is not registered with TAC (or its registration has not arrived yet)")


def require_knows_child(caller: Caller, child_id: UUID, child: Relationship) -> None:
    """A practitioner reaches a child only through the child's setting or team: anyone else
    gets what an unknown id gets. (A parent's token names their children: checked apart.)"""
    if caller.agency is Agency.PARENT:
        return
    if not works_with(caller, child):
        raise unknown_child(child_id)


def require_parent_or_setting_on_behalf(caller: Caller, child_id: UUID, child: Relationship, doing: str) -> None:
    """Who may give or withdraw a parent's consent: the parent (a parent's token acts for their
    own children only), or a practitioner of the child's *setting* recording it on the
    parent's behalf (DESIGN §3) — the setting holds the relationship with the family. A team
    member is not the family's voice: were it able to record "the parent's consent" naming
    itself, it could open the child's record to itself, or withdraw what the family gave.

    A practitioner whose organisation neither is the child's setting nor on its team gets what
    an unknown id gets (404); a team member is told, in words, who may (403). Team membership
    decides only between those two refusals: a write needs the setting, which is compared with
    the child's registration alone, so a stale copy of the team (a removal not yet consumed)
    can never let a practitioner who is not the setting write."""
    if caller.agency is Agency.PARENT:
        if is_parent_of(caller, child_id):
            return
        raise Forbidden(f"a parent may {doing} only for a child they hold parental responsibility for")
    require_knows_child(caller, child_id, child)
    if not is_setting_of(caller, child):
        raise Forbidden(f"only the child's parent, or a practitioner of the child's setting on the parent's behalf, "
                        f"may {doing}: ask the family or the child's setting, which holds the relationship with "
                        "the family")


def require_parent_or_setting(caller: Caller, child_id: UUID, child: Relationship, doing: str) -> None:
    """Only the child's parent or a practitioner of the child's setting may read a child's
    consents (they carry the giver's name); a team member is told so; anyone else gets what an
    unknown id gets."""
    if caller.agency is Agency.PARENT:
        if is_parent_of(caller, child_id):
            return
        raise Forbidden(f"a parent may {doing} only for a child they hold parental responsibility for")
    require_knows_child(caller, child_id, child)
    if not is_setting_of(caller, child):
        raise Forbidden(f"only the child's setting or the child's parent may {doing}")


# -- granting -------------------------------------------------------------------------------


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


# -- safeguarding break-glass ---------------------------------------------------------------


def grant_safeguarding_access(
    caller: Caller, child_id: UUID, child: Relationship, cmd: GrantSafeguardingAccess,
    *, grant_id: UUID, now: datetime,
) -> tuple[SafeguardingAccess, SafeguardingAccessGranted]:
    """An organisation's designated safeguarding lead opens the child's whole timeline to
    their own organisation, without consent, for a limited time, with a written reason (HM
    Government, Information sharing advice for safeguarding practitioners, 2024: share without
    consent where there is a risk of significant harm, and record the decision and the reason;
    Working Together to Safeguard Children 2023: the DSL takes lead responsibility). The event
    names the DSL role so the child's setting's DSL is told.

    The role is checked before the child, so a refusal says nothing about whether the child
    exists; an organisation that is neither the child's setting nor on its team then gets what
    an unknown id gets."""
    if caller.agency is Agency.PARENT or caller.organisation_id is None:
        raise Forbidden("only a practitioner can grant their organisation safeguarding access")
    if caller.role != DSL_ROLE:
        raise Forbidden("only your organisation's designated safeguarding lead may grant safeguarding access: "
                        "ask your designated safeguarding lead")
    require_knows_child(caller, child_id, child)
    justification = (cmd.justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise Invalid(f"write a justification of at least {MIN_JUSTIFICATION} characters: why sharing without "
                      "consent is needed", field="justification")
    if len(justification) > 4000:
        raise Invalid("justification must be at most 4000 characters", field="justification")
    if not 0 < cmd.hours <= MAX_SAFEGUARDING.total_seconds() / 3600:
        raise Invalid("safeguarding access lasts more than 0 and at most 72 hours", field="hours")
    expires_at = now + timedelta(hours=cmd.hours)
    access = SafeguardingAccess(
        grant_id=grant_id, child_id=child_id, organisation_id=caller.organisation_id, granted_by=caller.as_actor(),
        justification=justification, granted_at=now, expires_at=expires_at,
    )
    event = SafeguardingAccessGranted(
        grant_id=grant_id, organisation_id=caller.organisation_id, justification=justification,
        granted_at=now, expires_at=expires_at, notify_role=DESIGNATED_SAFEGUARDING_LEAD,
    )
    return access, event


class SafeguardingScope(StrEnum):
    """Whose break-glass grants for a child a practitioner is listed."""

    OWN_ORGANISATION = "own_organisation"  # the grants their organisation holds
    SETTING = "setting"  # the child's setting's DSL: every organisation's grants for the child


def require_may_list_safeguarding(caller: Caller, child_id: UUID, child: Relationship) -> SafeguardingScope:
    """An organisation of the child's setting or team reviews its own break-glass grants. The
    child's setting's designated safeguarding lead — told of every grant for a child of the
    setting — also lists the grants other organisations opened (which organisation, from when,
    until when; not why: see `may_read_justification`). Parents are not shown them here: the
    advice is to tell the family about sharing without consent *when it is safe to*, which is a
    practitioner's judgement, not an automatic listing."""
    if caller.agency is Agency.PARENT or caller.organisation_id is None:
        raise Forbidden("safeguarding access is listed to the organisations that hold it")
    require_knows_child(caller, child_id, child)
    if caller.role == DSL_ROLE and is_setting_of(caller, child):
        return SafeguardingScope.SETTING
    return SafeguardingScope.OWN_ORGANISATION


def may_read_justification(caller: Caller, access: SafeguardingAccess) -> bool:
    """The written justification of a break-glass grant may say what a child disclosed or
    concern someone at home: it is read by the granting organisation's designated safeguarding
    lead (and the audit, tac.audit.v1) only. Other practitioners of that organisation see the
    grant without it; the child's setting's DSL sees another organisation's grant without it."""
    return (caller.agency is not Agency.PARENT and caller.role == DSL_ROLE
            and caller.organisation_id is not None and caller.organisation_id == access.organisation_id)
