"""What the consent service's routes answer, as the OpenAPI document states it: the shapes
services.consent.service_layer.views builds, declared so clients and the conformance tests
(tests/e2e/test_openapi_conformance.py) hold the answers to them.

Fields shown only to some callers (a break-glass grant's `granted_by`, `notify_role` and
`justification`) are left out of the answer, not sent as null, when the caller may not see
them: the routes answer with `response_model_exclude_unset`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from schemas.vocabulary import Agency, Category, Purpose
from services.consent.domain import ConsentStatus, SafeguardingScope


class OrganisationOut(BaseModel):
    organisation_id: str
    name: str | None = Field(description="None for an id the directory no longer holds")
    agency: Agency | None = Field(description="None for an id the directory no longer holds")


class ActorOut(BaseModel):
    practitioner_id: str
    organisation_id: str | None
    agency: Agency
    role: str


class GiverOut(BaseModel):
    name: str
    relationship: str
    person_id: str | None
    has_parental_responsibility: bool


class RecipientsOut(BaseModel):
    organisation_ids: list[str]
    organisations: list[OrganisationOut]
    agencies: list[Agency]


class WithdrawalOut(BaseModel):
    withdrawn_at: datetime
    recorded_at: datetime
    recorded_on_behalf: bool
    recorded_by: ActorOut
    event_id: UUID | None


class ConsentOut(BaseModel):
    consent_id: UUID
    child_id: UUID
    status: ConsentStatus
    given_by: GiverOut
    recorded_on_behalf: bool
    recorded_by: ActorOut
    recorded_at: datetime
    recorded_by_organisation: OrganisationOut | None
    recipients: RecipientsOut
    categories: list[Category]
    purposes: list[Purpose]
    valid_from: datetime
    expires_at: datetime
    withdrawal: WithdrawalOut | None
    granted_event_id: UUID
    expired_event_id: UUID | None
    reminder_event_id: UUID | None


class ConsentRecorded(ConsentOut):
    """A consent as a grant or a withdrawal left it, with the id of the event that says so."""

    event_id: UUID


class ConsentsOut(BaseModel):
    child_id: UUID
    as_of: datetime
    consents: list[ConsentOut]


class SafeguardingGrantOut(BaseModel):
    grant_id: UUID
    child_id: UUID
    organisation_id: str
    organisation: OrganisationOut | None
    granted_at: datetime
    expires_at: datetime
    status: Literal["active", "expired", "not_yet_started"]
    event_id: UUID
    granted_by: ActorOut | None = Field(default=None, description="Only to the granting organisation")
    notify_role: str | None = Field(default=None, description="Only to the granting organisation")
    justification: str | None = Field(
        default=None, description="Only to the granting organisation's designated safeguarding lead")


class SafeguardingGrantsOut(BaseModel):
    child_id: UUID
    organisation_id: str | None
    organisation: OrganisationOut | None
    scope: SafeguardingScope
    as_of: datetime
    grants: list[SafeguardingGrantOut]
