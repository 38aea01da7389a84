"""One valid example payload per catalogue event type (shared by the schema tests).

A plain module, not conftest, so tests can import it by a name no other conftest shadows."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID

from schemas.envelope import Actor, Event
from schemas.events import audit, consent, referrals
from schemas.vocabulary import (
    Agency,
    AreaOfNeed,
    Category,
    NotificationChannel,
    PrimeArea,
    ProgressOutcome,
    Purpose,
    Reg10_4Exception,
    TeamJoinRoute,
    TeamLeaveRoute,
)

CHILD = UUID("6f1c7b1e-2f0a-4a8e-9d61-0c6f5d2b9a10")
T0 = datetime(2025, 3, 3, 9, 30, tzinfo=timezone.utc)
D0 = date(2025, 3, 3)
U = [UUID(int=n) for n in range(1, 10)]


def _examples() -> list[Event]:
    return [
        referrals.ChildRegistered(
            setting_organisation_id="org-setting-1",
            due_dates=(referrals.DueDate(kind="progress_check_at_two", due_on=date(2026, 1, 5), reference="EYFS 2.3"),),
        ),
        referrals.ConcernRaised(
            concern_id=U[0],
            areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
            summary="Few words at 26 months; limited joint attention.",
            evidence="Setting observations over six weeks.",
        ),
        referrals.ReferralMade(
            referral_id=U[1], to_organisation_id="org-slt-1", to_agency=Agency.SLT_SERVICE,
            reason="Speech and language assessment", consent_id=U[2],
        ),
        referrals.ReferralAccepted(referral_id=U[1], requested_by_organisation_id="org-setting-1"),
        referrals.ReferralDeclined(
            referral_id=U[1], requested_by_organisation_id="org-setting-1", reason="Outside our catchment",
        ),
        referrals.ReferralWithdrawn(
            referral_id=U[1], requested_by_organisation_id="org-setting-1", reason="Family moved away",
        ),
        referrals.ReferralClosed(
            referral_id=U[1], requested_by_organisation_id="org-setting-1", outcome="Programme completed",
        ),
        referrals.TeamMemberJoined(
            organisation_id="org-slt-1", agency=Agency.SLT_SERVICE, role="slt",
            joined_through=TeamJoinRoute.REFERRAL_ACCEPTED, request_id=U[1],
        ),
        referrals.TeamMemberLeft(
            organisation_id="org-slt-1", ended_by=TeamLeaveRoute.REMOVED_BY_PARENT, reason="Therapy finished",
        ),
        referrals.InvitationSent(
            invitation_id=U[8], organisation_id="org-hv-1", agency=Agency.HEALTH_VISITING,
            expires_on=D0 + timedelta(days=14), message="Please join Sam's team for the review at two.",
        ),
        referrals.InvitationDeclined(
            invitation_id=U[8], organisation_id="org-hv-1", requested_by_organisation_id="org-setting-1",
            reason="Not our area",
        ),
        referrals.KeyPersonNamed(key_person_id="practitioner-1", buddy_id="practitioner-2"),
        referrals.SLTReportShared(
            report_id=U[3], assessment_summary="Expressive language delay", programme="Weekly group",
            recommendations=("Use visual timetables",),
        ),
        referrals.EPAdviceShared(advice_id=U[4], summary="Structured play advised"),
        referrals.IntegratedReviewWindowOpened(announced_on=D0),
        referrals.IntegratedReviewScheduled(review_id=U[5], scheduled_for=D0, with_organisation_id="org-hv-1"),
        referrals.IntegratedReviewCompleted(
            review_id=U[5], completed_on=D0,
            outcomes={PrimeArea.COMMUNICATION_AND_LANGUAGE: ProgressOutcome.BELOW_EXPECTED},
        ),
        referrals.EHCAssessmentRequested(
            request_id=U[6], requested_on=D0, requested_by="setting", la_organisation_id="org-la-1",
        ),
        referrals.EHCAssessmentStarted(
            request_id=U[6], requested_by_organisation_id="org-setting-1", decided_on=D0 + timedelta(days=40),
        ),
        referrals.EHCAssessmentDeclined(request_id=U[6], decided_on=D0 + timedelta(days=40), reason="Needs met at SEN support"),
        referrals.EHCAdviceRequested(
            request_id=U[6], advice_id=U[7], from_organisation_id="org-ep-1", from_agency=Agency.EP_SERVICE,
            requested_on=D0, due_on=D0 + timedelta(weeks=6),
        ),
        referrals.EHCAdviceSubmitted(
            request_id=U[6], advice_id=U[7], requested_by_organisation_id="org-la-1", submitted_on=D0,
            summary="EP advice",
        ),
        referrals.EHCDraftPlanIssued(request_id=U[6], issued_on=D0, comments_due_on=D0 + timedelta(days=15)),
        referrals.EHCPlanFinalised(
            request_id=U[6], finalised_on=D0, exceptions=(Reg10_4Exception.SETTING_CLOSED_4_WEEKS,),
        ),
        referrals.TransitionToSchoolPlanned(
            school_organisation_id="org-school-1", starts_on=date(2025, 9, 3), plan_summary="Phased start",
        ),
        referrals.TransitionToSchoolCompleted(school_organisation_id="org-school-1", completed_on=date(2025, 9, 30)),
        referrals.FamilySupportOffered(offer_id=U[8], summary="Stay and play sessions"),
        referrals.ParentObservationShared(
            observation_id=U[0], text="She points at the birds and says 'bir' now.", seen_on=D0,
        ),
        referrals.EHCParentViewsGiven(
            request_id=U[6], views_id=U[1], parent_views="We want her to be understood at nursery.",
            child_views="Likes the sand tray; does not like loud rooms.",
        ),
        consent.ConsentGranted(
            consent_id=U[2],
            given_by=consent.ConsentGiver(person_id="person-1", relationship="mother", has_parental_responsibility=True),
            recorded_on_behalf=False,
            recipients=consent.Recipients(agencies=(Agency.SLT_SERVICE,)),
            categories=(Category.CONCERN, Category.REFERRAL),
            purposes=(Purpose.REFERRAL,),
            valid_from=T0,
            expires_at=T0 + timedelta(days=365),
        ),
        consent.ConsentWithdrawn(consent_id=U[2], withdrawn_at=T0, recorded_on_behalf=True),
        consent.ConsentExpired(consent_id=U[2], expired_at=T0),
        consent.ConsentExpiryReminderDue(consent_id=U[2], expires_at=T0 + timedelta(days=30)),
        consent.SafeguardingAccessGranted(
            grant_id=U[3], organisation_id="org-hv-1",
            justification="Child at risk of significant harm; DSL informed.",
            granted_at=T0, expires_at=T0 + timedelta(hours=72),
        ),
        audit.TimelineViewed(viewed_at=T0, entries_shown=1, shown=(audit.ShownEntry(event_id=U[0], basis="own"),)),
        audit.NotificationSent(
            notification_id=U[4], recipient_id="practitioner-1", recipient_organisation_id="org-slt-1",
            channel=NotificationChannel.INBOX, about_event_id=U[0], about="tac.referrals.referral_made.v1", sent_at=T0,
        ),
        audit.NotificationFailed(
            notification_id=U[4], recipient_id="practitioner-1", channel=NotificationChannel.EMAIL,
            about="consent_expiry", attempts=3, error="SMTP 550 mailbox unavailable", failed_at=T0,
        ),
    ]


EXAMPLES: dict[str, Event] = {e.TYPE: e for e in _examples()}



def practitioner() -> Actor:
    return Actor(practitioner_id="practitioner-1", organisation_id="org-setting-1", agency=Agency.SETTING, role="senco")
