"""Facts published by the referrals service on `tac.referrals.v1`.

Longer than most modules on purpose: it is the catalogue of one topic, read as one list by the
people who produce or consume it (the AsyncAPI document is generated from it in this order).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field, model_validator

from schemas import topics
from schemas.envelope import Contract, Event
from schemas.formats import Day, Uuid
from schemas.vocabulary import (Agency, AreaOfNeed, Category, PrimeArea, ProgressOutcome, Reg10_4Exception, TeamJoinRoute,
                                TeamLeaveRoute)

OrgId = str
_ORG = dict(min_length=1, max_length=128)
_TEXT = dict(min_length=1, max_length=4000)
# Rule 3 of the consent decision (DESIGN §3, `own_request`): an answer to a request lets the
# organisation that made the request see it, so every answer names that organisation.
_REQUESTER = dict(min_length=1, max_length=128,
                  description="The organisation whose request this answers (the decision's rule 3, own_request)")


class DueDate(Contract):
    """A statutory or guidance date derived by the referrals service, with its source, so that
    other services can remind without ever seeing the child's date of birth."""

    kind: str = Field(min_length=1, max_length=64)
    due_on: Day
    reference: str = Field(min_length=1, max_length=200, description="Regulation or guidance the date comes from")


class _Referrals(Event):
    TOPIC: ClassVar = topics.REFERRALS


class ChildRegistered(_Referrals):
    """`due_dates` never holds a date derived from the date of birth (an integrated review
    window, a reception start): those would reveal it. The referrals service announces such
    moments when they come (IntegratedReviewWindowOpened)."""

    TYPE: ClassVar = "tac.referrals.child_registered.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    setting_organisation_id: OrgId = Field(**_ORG)
    due_dates: tuple[DueDate, ...] = ()


class IntegratedReviewWindowOpened(_Referrals):
    """The child is nearing 24 months: time to plan the integrated review (EYFS progress check
    at two with the Healthy Child Programme 2-2½ year review). Published by the referrals
    service on the day, so no date derived from the date of birth travels ahead of it."""

    TYPE: ClassVar = "tac.referrals.integrated_review_window_opened.v1"
    CATEGORY: ClassVar = Category.HEALTH
    announced_on: Day = Field(description="The day the referrals service announced it (not a date of birth + N)")


class ConcernRaised(_Referrals):
    TYPE: ClassVar = "tac.referrals.concern_raised.v1"
    CATEGORY: ClassVar = Category.CONCERN
    concern_id: Uuid
    areas_of_need: tuple[AreaOfNeed, ...] = Field(min_length=1)
    summary: str = Field(**_TEXT)
    evidence: str | None = Field(default=None, max_length=4000)


class ReferralMade(_Referrals):
    TYPE: ClassVar = "tac.referrals.referral_made.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    referral_id: Uuid
    to_organisation_id: OrgId = Field(**_ORG)
    to_agency: Agency
    reason: str = Field(**_TEXT)
    consent_id: Uuid = Field(description="The consent that permitted the referral")


class _ReferralAnswer(_Referrals):
    """An answer to a referral: it names the organisation that made the referral, so that
    organisation sees the answer to its own request (the decision's rule 3, DESIGN §3)."""

    CATEGORY: ClassVar = Category.REFERRAL
    referral_id: Uuid
    requested_by_organisation_id: OrgId = Field(**_REQUESTER)


class ReferralAccepted(_ReferralAnswer):
    TYPE: ClassVar = "tac.referrals.referral_accepted.v1"


class ReferralDeclined(_ReferralAnswer):
    TYPE: ClassVar = "tac.referrals.referral_declined.v1"
    reason: str = Field(**_TEXT)


class ReferralWithdrawn(_ReferralAnswer):
    TYPE: ClassVar = "tac.referrals.referral_withdrawn.v1"
    reason: str = Field(**_TEXT)


class ReferralClosed(_ReferralAnswer):
    TYPE: ClassVar = "tac.referrals.referral_closed.v1"
    outcome: str = Field(**_TEXT)


class TeamMemberJoined(_Referrals):
    """The organisation is on the child's team from the envelope's `time` (DESIGN §3): the
    relationship that lets consent reach it (the decision's rule 5)."""

    TYPE: ClassVar = "tac.referrals.team_member_joined.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    organisation_id: OrgId = Field(**_ORG)
    agency: Agency
    role: str = Field(min_length=1, max_length=64, description="The role the organisation plays for the child")
    joined_through: TeamJoinRoute
    invitation_id: Uuid | None = Field(default=None, description="Set when joined_through is invitation")
    request_id: Uuid | None = Field(default=None, description="The referral, EHC request, advice request, review or "
                                                               "transition plan that brought it in, when one did")


class InvitationSent(_Referrals):
    """The child's setting or a team member invited an organisation to the team; it joins only
    when it accepts (TeamMemberJoined, joined_through=invitation) before `expires_on`."""

    TYPE: ClassVar = "tac.referrals.invitation_sent.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    invitation_id: Uuid
    organisation_id: OrgId = Field(**_ORG)
    agency: Agency
    expires_on: Day
    message: str | None = Field(default=None, max_length=4000)


class InvitationDeclined(_Referrals):
    TYPE: ClassVar = "tac.referrals.invitation_declined.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    invitation_id: Uuid
    organisation_id: OrgId = Field(**_ORG)
    requested_by_organisation_id: OrgId = Field(**_REQUESTER)
    reason: str | None = Field(default=None, max_length=4000)


class TeamMemberLeft(_Referrals):
    """The organisation is off the child's team from the envelope's `time`: its consent-based
    access ends (its own records stay its own). The actor says who removed it."""

    TYPE: ClassVar = "tac.referrals.team_member_left.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    organisation_id: OrgId = Field(**_ORG)
    ended_by: TeamLeaveRoute
    reason: str | None = Field(default=None, max_length=4000)


class KeyPersonNamed(_Referrals):
    """The setting named the child's key person (EYFS statutory framework 3.27: every child is
    assigned a key person) and a buddy for when the key person is away. Practitioner ids only:
    names stay in the referrals service's store."""

    TYPE: ClassVar = "tac.referrals.key_person_named.v1"
    CATEGORY: ClassVar = Category.REFERRAL
    key_person_id: str = Field(min_length=1, max_length=128)
    buddy_id: str | None = Field(default=None, min_length=1, max_length=128)


class SLTReportShared(_Referrals):
    TYPE: ClassVar = "tac.referrals.slt_report_shared.v1"
    CATEGORY: ClassVar = Category.SLT
    report_id: Uuid
    assessment_summary: str = Field(**_TEXT)
    programme: str = Field(**_TEXT)
    recommendations: tuple[str, ...] = ()


class EPAdviceShared(_Referrals):
    TYPE: ClassVar = "tac.referrals.ep_advice_shared.v1"
    CATEGORY: ClassVar = Category.EP
    advice_id: Uuid
    summary: str = Field(**_TEXT)
    recommendations: tuple[str, ...] = ()


class IntegratedReviewScheduled(_Referrals):
    """EYFS progress check at two combined with the Healthy Child Programme 2-2½ year review."""

    TYPE: ClassVar = "tac.referrals.integrated_review_scheduled.v1"
    CATEGORY: ClassVar = Category.HEALTH
    review_id: Uuid
    scheduled_for: Day
    with_organisation_id: OrgId | None = Field(default=None, max_length=128)


class IntegratedReviewCompleted(_Referrals):
    TYPE: ClassVar = "tac.referrals.integrated_review_completed.v1"
    CATEGORY: ClassVar = Category.PROGRESS
    review_id: Uuid
    completed_on: Day
    outcomes: dict[PrimeArea, ProgressOutcome] = Field(min_length=1)


class EHCAssessmentRequested(_Referrals):
    TYPE: ClassVar = "tac.referrals.ehc_assessment_requested.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    requested_on: Day
    requested_by: str = Field(min_length=1, max_length=64, description="parent, setting, ...")
    la_organisation_id: OrgId = Field(**_ORG)
    due_dates: tuple[DueDate, ...] = ()


class EHCAssessmentStarted(_Referrals):
    """The local authority decided to assess (SEND Regulations 2014 reg. 5)."""

    TYPE: ClassVar = "tac.referrals.ehc_assessment_started.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    requested_by_organisation_id: OrgId | None = Field(
        default=None, max_length=128, description="The organisation that made the request (none when a parent did)")
    decided_on: Day


class EHCAssessmentDeclined(_Referrals):
    TYPE: ClassVar = "tac.referrals.ehc_assessment_declined.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    requested_by_organisation_id: OrgId | None = Field(
        default=None, max_length=128, description="The organisation that made the request (none when a parent did)")
    decided_on: Day
    reason: str = Field(**_TEXT)


class EHCAdviceRequested(_Referrals):
    TYPE: ClassVar = "tac.referrals.ehc_advice_requested.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    advice_id: Uuid
    from_organisation_id: OrgId = Field(**_ORG)
    from_agency: Agency
    requested_on: Day
    due_on: Day


class EHCAdviceSubmitted(_Referrals):
    TYPE: ClassVar = "tac.referrals.ehc_advice_submitted.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    advice_id: Uuid
    requested_by_organisation_id: OrgId = Field(**_REQUESTER)
    submitted_on: Day
    summary: str = Field(**_TEXT)


class EHCDraftPlanIssued(_Referrals):
    """The LA's draft EHC plan. `comments_due_on` is at least 15 days after `issued_on` (SEND
    Regulations 2014 reg. 13(1); a rule JSON Schema cannot state: consumers refuse it)."""

    TYPE: ClassVar = "tac.referrals.ehc_draft_plan_issued.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    issued_on: Day
    comments_due_on: Day

    @model_validator(mode="after")
    def _fifteen_days_to_comment(self) -> "EHCDraftPlanIssued":
        # SEND Regulations 2014 reg. 13(1): parents have at least 15 days to comment.
        if (self.comments_due_on - self.issued_on).days < 15:
            raise ValueError("comments_due_on must be at least 15 days after issued_on (reg. 13(1))")
        return self


class EHCPlanFinalised(_Referrals):
    TYPE: ClassVar = "tac.referrals.ehc_plan_finalised.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    finalised_on: Day
    exceptions: tuple[Reg10_4Exception, ...] = ()


class TransitionToSchoolPlanned(_Referrals):
    TYPE: ClassVar = "tac.referrals.transition_to_school_planned.v1"
    CATEGORY: ClassVar = Category.TRANSITION
    school_organisation_id: OrgId = Field(**_ORG)
    starts_on: Day
    plan_summary: str = Field(**_TEXT)


class TransitionToSchoolCompleted(_Referrals):
    TYPE: ClassVar = "tac.referrals.transition_to_school_completed.v1"
    CATEGORY: ClassVar = Category.TRANSITION
    school_organisation_id: OrgId = Field(**_ORG)
    completed_on: Day


class ParentObservationShared(_Referrals):
    """A parent's own entry, "what we see at home" (EYFS statutory framework: a regular two-way
    flow of information with parents). Authored by the parent: the envelope's actor has agency
    `parent` and no organisation, so practitioners see it only under the family's consent for
    `progress` (the decision's rule 5) and a parent of the child always (rule 1)."""

    TYPE: ClassVar = "tac.referrals.parent_observation_shared.v1"
    CATEGORY: ClassVar = Category.PROGRESS
    observation_id: Uuid
    text: str = Field(**_TEXT)
    seen_on: Day | None = Field(default=None, description="The day the parent saw it, when they say")


class EHCParentViewsGiven(_Referrals):
    """During an EHC needs assessment, the parent's views, wishes and feelings and the child's,
    which the local authority must seek (SEND Regulations 2014 reg. 6(1)(a), 7). Authored by
    the parent (actor agency `parent`, no organisation): the parent's advice to the assessment."""

    TYPE: ClassVar = "tac.referrals.ehc_parent_views_given.v1"
    CATEGORY: ClassVar = Category.EHC
    request_id: Uuid
    views_id: Uuid
    parent_views: str = Field(**_TEXT)
    child_views: str | None = Field(default=None, max_length=4000,
                                    description="The child's views, wishes and feelings, as the parent gives them")


class FamilySupportOffered(_Referrals):
    TYPE: ClassVar = "tac.referrals.family_support_offered.v1"
    CATEGORY: ClassVar = Category.FAMILY_SUPPORT
    offer_id: Uuid
    summary: str = Field(**_TEXT)


EVENTS: tuple[type[Event], ...] = (
    ChildRegistered, ConcernRaised, ReferralMade, ReferralAccepted, ReferralDeclined,
    ReferralWithdrawn, ReferralClosed, TeamMemberJoined, TeamMemberLeft, InvitationSent, InvitationDeclined,
    KeyPersonNamed, SLTReportShared,
    EPAdviceShared, IntegratedReviewWindowOpened, IntegratedReviewScheduled, IntegratedReviewCompleted,
    EHCAssessmentRequested,
    EHCAssessmentStarted, EHCAssessmentDeclined, EHCAdviceRequested, EHCAdviceSubmitted,
    EHCDraftPlanIssued, EHCPlanFinalised, TransitionToSchoolPlanned, TransitionToSchoolCompleted,
    FamilySupportOffered, ParentObservationShared, EHCParentViewsGiven,
)
