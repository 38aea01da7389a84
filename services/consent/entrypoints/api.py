"""HTTP routes of the consent service. Thin: validate the request shape, build a command,
call a handler; DomainErrors become 4xx in services.common.web.

Bad input is a 422 naming the field: the shape here (FastAPI's `loc`), the rules in the
domain (`{"detail", "field"}`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.vocabulary import Agency, Category, Purpose
from services.common.text import StorableText
from services.common.web import CurrentPrincipal
from services.consent import domain
from services.consent.entrypoints.answers import ConsentRecorded, ConsentsOut, SafeguardingGrantOut, SafeguardingGrantsOut
from services.consent.service_layer import handlers

router = APIRouter(tags=["consent"])


Text = StorableText


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GiverIn(_Body):
    name: Text = Field(min_length=1, max_length=200, description="Stays in this service: never published")
    relationship: Text = Field(min_length=1, max_length=64, examples=["mother"])
    has_parental_responsibility: bool
    person_id: Text | None = Field(
        default=None, min_length=1, max_length=128,
        description="The giver's pseudonymous person id; a parent's own id is taken from their token",
    )


class RecipientsIn(_Body):
    organisation_ids: list[Annotated[Text, Field(min_length=1, max_length=128)]] = Field(default_factory=list, max_length=50)
    agencies: list[Agency] = Field(default_factory=list, max_length=len(Agency))


class GrantConsentIn(_Body):
    given_by: GiverIn
    recipients: RecipientsIn
    categories: list[Category] = Field(min_length=1, max_length=len(Category))
    purposes: list[Purpose] = Field(min_length=1, max_length=len(Purpose))
    valid_from: AwareDatetime | None = Field(default=None, description="Default: now")
    expires_at: AwareDatetime | None = Field(default=None, description="Default: 12 months after valid_from")


class WithdrawIn(_Body):
    parent_withdrew_on: date | None = Field(
        default=None, description="Required when a practitioner records a parent's withdrawal; not in the future"
    )


class SafeguardingAccessIn(_Body):
    justification: Text = Field(max_length=4000, description="Why sharing without consent is needed (at least 20 characters)")
    hours: float = Field(default=72, gt=0, le=72, description="How long the access lasts; at most 72 hours")


def _deps(request: Request) -> handlers.Deps:
    return request.app.state.consent_deps


@router.post("/children/{child_id}/consents", status_code=201, response_model=ConsentRecorded)
def grant_consent(child_id: UUID, body: GrantConsentIn, principal: CurrentPrincipal, request: Request) -> dict:
    cmd = domain.GrantConsent(
        given_by_name=body.given_by.name,
        relationship=body.given_by.relationship,
        has_parental_responsibility=body.given_by.has_parental_responsibility,
        person_id=body.given_by.person_id,
        recipient_organisations=body.recipients.organisation_ids,
        recipient_agencies=body.recipients.agencies,
        categories=body.categories,
        purposes=body.purposes,
        valid_from=body.valid_from,
        expires_at=body.expires_at,
    )
    return handlers.grant_consent(_deps(request), principal, child_id, cmd)


@router.get("/children/{child_id}/consents", response_model=ConsentsOut)
def list_consents(child_id: UUID, principal: CurrentPrincipal, request: Request) -> dict:
    return handlers.list_consents(_deps(request), principal, child_id)


@router.post("/children/{child_id}/consents/{consent_id}/withdrawal", status_code=201, response_model=ConsentRecorded)
def withdraw_consent(
    child_id: UUID, consent_id: UUID, principal: CurrentPrincipal, request: Request,
    body: Annotated[WithdrawIn | None, Body()] = None,
) -> dict:
    cmd = domain.WithdrawConsent(parent_withdrew_on=body.parent_withdrew_on if body else None)
    return handlers.withdraw_consent(_deps(request), principal, child_id, consent_id, cmd)


@router.post("/children/{child_id}/safeguarding-access", status_code=201, response_model=SafeguardingGrantOut,
             response_model_exclude_unset=True)
def grant_safeguarding_access(child_id: UUID, body: SafeguardingAccessIn, principal: CurrentPrincipal,
                              request: Request) -> dict:
    cmd = domain.GrantSafeguardingAccess(justification=body.justification, hours=body.hours)
    return handlers.grant_safeguarding_access(_deps(request), principal, child_id, cmd)


@router.get("/children/{child_id}/safeguarding-access", response_model=SafeguardingGrantsOut,
            response_model_exclude_unset=True)
def list_safeguarding_access(child_id: UUID, principal: CurrentPrincipal, request: Request) -> dict:
    return handlers.list_safeguarding_access(_deps(request), principal, child_id)
