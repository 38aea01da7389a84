"""Commands the referrals API accepts: imperative names, strict about unknown fields and
sizes, so bad input gets a 422 naming the field before any rule runs. Pure (pydantic only).

Rules that need the store or today's date (a birth date in the future, a referral to a
consent nobody gave) are checked by the handlers."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.vocabulary import Agency, AreaOfNeed, PrimeArea, ProgressOutcome, Reg10_4Exception

_ORG = dict(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_TEXT = dict(min_length=1, max_length=4000)
_NAME = dict(min_length=1, max_length=100)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RegisterChild(Command):
    given_name: str = Field(**_NAME)
    family_name: str = Field(**_NAME)
    date_of_birth: date
    setting_organisation_id: str | None = Field(default=None, description="defaults to the caller's organisation", **_ORG)


class RaiseConcern(Command):
    areas_of_need: list[AreaOfNeed] = Field(min_length=1, max_length=4)
    summary: str = Field(**_TEXT)
    evidence: str | None = Field(default=None, max_length=4000)

    @field_validator("areas_of_need")
    @classmethod
    def _distinct(cls, value: list[AreaOfNeed]) -> list[AreaOfNeed]:
        if len(set(value)) != len(value):
            raise ValueError("each area of need at most once")
        return value


class MakeReferral(Command):
    to_organisation_id: str = Field(**_ORG)
    to_agency: Agency
    reason: str = Field(**_TEXT)

    @field_validator("to_agency")
    @classmethod
    def _not_parent(cls, value: Agency) -> Agency:
        if value is Agency.PARENT:
            raise ValueError("a referral is made to an organisation, not to a parent")
        return value


class DeclineReferral(Command):
    reason: str = Field(**_TEXT)


class WithdrawReferral(Command):
    reason: str = Field(**_TEXT)


class CloseReferral(Command):
    outcome: str = Field(**_TEXT)


class JoinTeam(Command):
    organisation_id: str = Field(**_ORG)
    agency: Agency
    role: str = Field(min_length=1, max_length=64)

    @field_validator("agency")
    @classmethod
    def _not_parent(cls, value: Agency) -> Agency:
        if value is Agency.PARENT:
            raise ValueError("the team around the child is made of organisations; parents are not members")
        return value


class LeaveTeam(Command):
    reason: str | None = Field(default=None, max_length=4000)


class ShareSLTReport(Command):
    assessment_summary: str = Field(**_TEXT)
    programme: str = Field(**_TEXT)
    recommendations: list[str] = Field(default_factory=list, max_length=50)


class ShareEPAdvice(Command):
    summary: str = Field(**_TEXT)
    recommendations: list[str] = Field(default_factory=list, max_length=50)


class ScheduleIntegratedReview(Command):
    scheduled_for: date
    with_organisation_id: str | None = Field(default=None, **_ORG)


class CompleteIntegratedReview(Command):
    completed_on: date
    outcomes: dict[PrimeArea, ProgressOutcome] = Field(min_length=1)


class RequestEHCAssessment(Command):
    la_organisation_id: str = Field(**_ORG)
    received_on: date | None = Field(default=None, description="the day the LA received the request; default today")


class StartEHCAssessment(Command):
    decided_on: date | None = None


class DeclineEHCAssessment(Command):
    reason: str = Field(**_TEXT)
    decided_on: date | None = None


class RequestEHCAdvice(Command):
    from_organisation_id: str = Field(**_ORG)
    from_agency: Agency
    requested_on: date | None = None


class SubmitEHCAdvice(Command):
    summary: str = Field(**_TEXT)
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
    plan_summary: str = Field(**_TEXT)


class CompleteTransition(Command):
    completed_on: date | None = None


class OfferFamilySupport(Command):
    summary: str = Field(**_TEXT)


