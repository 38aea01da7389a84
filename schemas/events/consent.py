"""Facts published by the consent service on `tac.consent.v1`.

The parent's name stays in the consent service's store; the bus carries only a person id and
the relationship.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from schemas import topics
from schemas.envelope import Contract, Event
from schemas.formats import Timestamp, Uuid
from schemas.vocabulary import Agency, Category, Purpose


class ConsentGiver(Contract):
    person_id: str = Field(min_length=1, max_length=128)
    relationship: str = Field(min_length=1, max_length=64)
    has_parental_responsibility: bool = Field(
        json_schema_extra={"const": True},
        description="Always true: only a person with parental responsibility consents (Children Act 1989 s.3)",
    )

    @model_validator(mode="after")
    def _must_hold_parental_responsibility(self) -> "ConsentGiver":
        # Only a person with parental responsibility can consent for a young child
        # (Children Act 1989 s.3; HM Government information sharing advice 2024).
        if not self.has_parental_responsibility:
            raise ValueError("consent must be given by a person with parental responsibility")
        return self


OrganisationId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


def _recipients_schema(schema: dict) -> None:
    # The validator below, in the published schema: at least one recipient, never `parent`.
    schema["anyOf"] = [
        {"required": ["organisation_ids"], "properties": {"organisation_ids": {"minItems": 1}}},
        {"required": ["agencies"], "properties": {"agencies": {"minItems": 1}}},
    ]
    schema["properties"]["agencies"]["items"]["not"] = {"const": "parent"}


class Recipients(Contract):
    """Who may see: organisations by id and/or agencies by kind; at least one, and never `parent`
    (a parent sees their own child's record by rule 1 of the decision, not by consent)."""

    model_config = ConfigDict(json_schema_extra=_recipients_schema)
    organisation_ids: tuple[OrganisationId, ...] = ()
    agencies: tuple[Agency, ...] = ()

    @model_validator(mode="after")
    def _at_least_one(self) -> "Recipients":
        if not self.organisation_ids and not self.agencies:
            raise ValueError("a consent names at least one recipient organisation or agency")
        if Agency.PARENT in self.agencies:
            raise ValueError("'parent' is not a recipient agency")
        return self


class _Consent(Event):
    TOPIC: ClassVar = topics.CONSENT
    CATEGORY: ClassVar = Category.CONSENT


class ConsentGranted(_Consent):
    """A parent's consent to share named categories with named recipients for named purposes.
    `expires_at` is after `valid_from` (a rule JSON Schema cannot state: consumers refuse it)."""

    TYPE: ClassVar = "tac.consent.consent_granted.v1"
    consent_id: Uuid
    given_by: ConsentGiver
    recorded_on_behalf: bool = Field(description="True when a practitioner recorded it for the parent")
    recipients: Recipients
    categories: tuple[Category, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    valid_from: Timestamp
    expires_at: Timestamp

    @model_validator(mode="after")
    def _expires_after_start(self) -> "ConsentGranted":
        if self.expires_at <= self.valid_from:
            raise ValueError("expires_at must be after valid_from")
        return self


class ConsentWithdrawn(_Consent):
    TYPE: ClassVar = "tac.consent.consent_withdrawn.v1"
    consent_id: Uuid
    withdrawn_at: Timestamp
    recorded_on_behalf: bool


class ConsentExpired(_Consent):
    TYPE: ClassVar = "tac.consent.consent_expired.v1"
    consent_id: Uuid
    expired_at: Timestamp


class ConsentExpiryReminderDue(_Consent):
    """Consent is reviewed yearly; the team is reminded 30 days before it lapses (DESIGN §5)."""

    TYPE: ClassVar = "tac.consent.consent_expiry_reminder_due.v1"
    consent_id: Uuid
    expires_at: Timestamp


class SafeguardingAccessGranted(_Consent):
    """Break-glass sharing without consent: explicit, justified, time-limited, audited
    (HM Government, Information sharing advice for safeguarding practitioners, 2024).
    `expires_at` is after `granted_at` and at most 72 hours later (a rule JSON Schema cannot
    state: consumers refuse it)."""

    TYPE: ClassVar = "tac.consent.safeguarding_access_granted.v1"
    grant_id: Uuid
    organisation_id: str = Field(min_length=1, max_length=128)
    justification: str = Field(min_length=20, max_length=4000)
    granted_at: Timestamp
    expires_at: Timestamp
    notify_role: str = Field(default="designated_safeguarding_lead", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _at_most_72_hours(self) -> "SafeguardingAccessGranted":
        hours = (self.expires_at - self.granted_at).total_seconds() / 3600
        if not 0 < hours <= 72:
            raise ValueError("safeguarding access lasts more than 0 and at most 72 hours")
        return self


EVENTS: tuple[type[Event], ...] = (
    ConsentGranted, ConsentWithdrawn, ConsentExpired, ConsentExpiryReminderDue, SafeguardingAccessGranted,
)
