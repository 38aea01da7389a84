"""Commands the referrals API accepts: imperative names, strict about unknown fields and
sizes, so bad input gets a 422 naming the field before any rule runs. Pure (pydantic only).

Every free-text field is `NonBlankText` or `TrimmedText` (services.common.text: PostgreSQL
refuses NUL; SQLite would store it and put it on the bus) and has a maximum length; every list has a maximum number of items, and
every item of a list of text a maximum length too. An event must stay far below the broker's
message limit (~1 MB): one oversized event at the head of the outbox would stop the relay, and
every event behind it, for good. The largest command (an SLT report: 2 x 4,000 + 50 x 1,000
characters) makes an event of well under 256 KiB even if every character takes 4 bytes.

Rules that need the store or today's date (a birth date in the future, a referral to a
consent nobody gave) are checked by the handlers."""

from __future__ import annotations

from datetime import date

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.vocabulary import Agency, AreaOfNeed, PrimeArea, ProgressOutcome, Reg10_4Exception
from services.common.text import NonBlankText, TrimmedText

_ORG = dict(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_PERSON = dict(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")  # a practitioner id
_TEXT = dict(min_length=1, max_length=4000)
_NAME = dict(min_length=1, max_length=100)
MAX_ITEMS = 50
MAX_ITEM_CHARS = 1000



def _organisation_agencies(schema: dict) -> None:
    """The schema of `to_agency`: every agency but `parent` (a referral goes to an organisation)."""
    schema.clear()
    schema.update(type="string", enum=[a.value for a in Agency if a is not Agency.PARENT])


def _no_default(schema: dict) -> None:
    # The Python default (None) means "absent"; it is not a value a client may send.
    schema.pop("default", None)


# One recommendation: a sentence or a short paragraph, never a whole report.
Recommendation = Annotated[NonBlankText, Field(min_length=1, max_length=MAX_ITEM_CHARS)]


class Command(BaseModel):
    # No str_strip_whitespace: a value is checked as sent, so the OpenAPI document's bounds and
    # patterns are the whole rule (" x" is not an organisation id); free text is trimmed after.
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegisterChild(Command):
    given_name: NonBlankText = Field(**_NAME)
    family_name: NonBlankText = Field(**_NAME)
    date_of_birth: date
    setting_organisation_id: str | None = Field(default=None, description="defaults to the caller's organisation", **_ORG)


class RaiseConcern(Command):
    areas_of_need: list[AreaOfNeed] = Field(min_length=1, max_length=4, json_schema_extra={"uniqueItems": True})
    summary: NonBlankText = Field(**_TEXT)
    evidence: TrimmedText | None = Field(default=None, max_length=4000)

    @field_validator("areas_of_need")
    @classmethod
    def _distinct(cls, value: list[AreaOfNeed]) -> list[AreaOfNeed]:
        if len(set(value)) != len(value):
            raise ValueError("each area of need at most once")
        return value


class MakeReferral(Command):
    to_organisation_id: str = Field(**_ORG)
    to_agency: Agency = Field(json_schema_extra=_organisation_agencies)
    reason: NonBlankText = Field(**_TEXT)

    @field_validator("to_agency")
    @classmethod
    def _not_parent(cls, value: Agency) -> Agency:
        if value is Agency.PARENT:
            raise ValueError("a referral is made to an organisation, not to a parent")
        return value


class DeclineReferral(Command):
    reason: NonBlankText = Field(**_TEXT)


class WithdrawReferral(Command):
    reason: NonBlankText = Field(**_TEXT)


class CloseReferral(Command):
    outcome: NonBlankText = Field(**_TEXT)


class AddTeamMember(Command):
    """A parent adds an organisation to the child's team; what it is comes from the directory."""

    organisation_id: str = Field(**_ORG)


class InviteToTeam(Command):
    organisation_id: str = Field(**_ORG)
    message: TrimmedText | None = Field(default=None, max_length=4000)


class DeclineInvitation(Command):
    reason: TrimmedText | None = Field(default=None, max_length=4000)


class RemoveTeamMember(Command):
    reason: NonBlankText = Field(**_TEXT)


class NameKeyPerson(Command):
    """EYFS statutory framework 3.27: the child's key person, and a buddy for when they are away."""

    key_person_id: str = Field(**_PERSON)
    key_person_name: NonBlankText = Field(**_NAME)
    # Both or neither, said in the schema too (dependentRequired); absent, not null, is "no buddy".
    model_config = ConfigDict(json_schema_extra={"dependentRequired": {"buddy_id": ["buddy_name"],
                                                                        "buddy_name": ["buddy_id"]}})
    buddy_id: str = Field(default=None, json_schema_extra=_no_default, **_PERSON)  # type: ignore[assignment]
    buddy_name: NonBlankText = Field(default=None, json_schema_extra=_no_default, **_NAME)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _buddy_named_with_id(self) -> "NameKeyPerson":
        if (self.buddy_name is None) != (self.buddy_id is None):
            raise ValueError("buddy_id and buddy_name: give both, or neither")
        return self


class LeaveTeam(Command):
    reason: TrimmedText | None = Field(default=None, max_length=4000)


class ShareSLTReport(Command):
    assessment_summary: NonBlankText = Field(**_TEXT)
    programme: NonBlankText = Field(**_TEXT)
    recommendations: list[Recommendation] = Field(default_factory=list, max_length=MAX_ITEMS)


class ShareEPAdvice(Command):
    summary: NonBlankText = Field(**_TEXT)
    recommendations: list[Recommendation] = Field(default_factory=list, max_length=MAX_ITEMS)


class ScheduleIntegratedReview(Command):
    scheduled_for: date
    with_organisation_id: str | None = Field(default=None, **_ORG)
    with_agency: Agency | None = Field(
        default=None, description="what the partner organisation is; needed unless it is the child's own setting")


class CompleteIntegratedReview(Command):
    completed_on: date
    outcomes: dict[PrimeArea, ProgressOutcome] = Field(min_length=1)


class RequestEHCAssessment(Command):
    la_organisation_id: str = Field(**_ORG)
    received_on: date | None = Field(default=None, description="the day the LA received the request; default today")


class StartEHCAssessment(Command):
    decided_on: date | None = None


class DeclineEHCAssessment(Command):
    reason: NonBlankText = Field(**_TEXT)
    decided_on: date | None = None


class RequestEHCAdvice(Command):
    from_organisation_id: str = Field(**_ORG)
    from_agency: Agency
    requested_on: date | None = None


class SubmitEHCAdvice(Command):
    summary: NonBlankText = Field(**_TEXT)
    submitted_on: date | None = None


class IssueDraftPlan(Command):
    issued_on: date | None = None
    comments_due_on: date | None = Field(default=None, description="at least 15 days after issue (reg. 13(1))")


class FinalisePlan(Command):
    finalised_on: date | None = None
    exceptions: list[Reg10_4Exception] = Field(default_factory=list, max_length=3)


class PlanTransition(Command):
    school_organisation_id: str = Field(**_ORG)
    starts_on: date
    plan_summary: NonBlankText = Field(**_TEXT)


class CompleteTransition(Command):
    completed_on: date | None = None


class OfferFamilySupport(Command):
    summary: NonBlankText = Field(**_TEXT)


class ShareParentObservation(Command):
    """A parent's "what we see at home" (EYFS statutory framework: a two-way flow of information
    with parents)."""

    text: NonBlankText = Field(**_TEXT)
    seen_on: date | None = Field(default=None, description="the day it was seen, when the parent says")


class GiveEHCParentViews(Command):
    """The parent's views, wishes and feelings, and the child's, for an EHC needs assessment
    (SEND Regulations 2014 reg. 6(1)(a), 7)."""

    parent_views: NonBlankText = Field(**_TEXT)
    child_views: NonBlankText | None = Field(default=None, min_length=1, max_length=4000)


