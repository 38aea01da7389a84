"""A consent as this service keeps it: who gave it (the giver's name never leaves this
store), to whom, for what, for how long, whether it was withdrawn, and which expiry notices
it has had. Its status now and the notices it owes are rules of the consent itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from schemas.envelope import Actor
from schemas.events.consent import ConsentExpired, ConsentExpiryReminderDue
from schemas.vocabulary import Agency, Category, Purpose

DEFAULT_CONSENT_MONTHS = 12
# And never for ever: a consent's end is at most this many months after its start (a setting,
# TAC_CONSENT_MAX_CONSENT_MONTHS) — a consent "until 9999-12-31" is no informed consent.
MAX_CONSENT_MONTHS = 24
# DESIGN §5: remind 30 days before a consent expires.
REMINDER_BEFORE = timedelta(days=30)
# "Not in the future" for a date a parent withdrew is judged on the calendar in England.
ENGLAND = ZoneInfo("Europe/London")


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


class NoticeAlreadyEmitted(Exception):
    """Another expiry task (a second replica, or a stale list) emitted this notice first."""


class StoredConsent:
    """A consent with the ids of the events that made it, for API answers."""

    def __init__(self, consent: Consent, granted_event_id: str, withdrawal_event_id: str | None,
                 notice_event_ids: dict[Notice, str]) -> None:
        self.consent = consent
        self.granted_event_id = granted_event_id
        self.withdrawal_event_id = withdrawal_event_id
        self.notice_event_ids = notice_event_ids
