"""Builders for the timeline's tests: a valid sample of every event on the timeline's input
topics, the people around one child, and consent events as the consent service publishes them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, Event
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute, TeamLeaveRoute
from services.timeline.adapters.shown_as import render
from services.timeline.domain.entries import NewEntry, StoredEntry, entry_from_envelope

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)

SETTING_ORG = "sunflower-nursery"
SLT_ORG = "nhs-slt-north"
HV_ORG = "hv-north"
EP_ORG = "ep-service-north"

SETTING = Actor(practitioner_id="priya", organisation_id=SETTING_ORG, agency=Agency.SETTING, role="senco")
SLT = Actor(practitioner_id="sam", organisation_id=SLT_ORG, agency=Agency.SLT_SERVICE, role="slt")
HV = Actor(practitioner_id="hana", organisation_id=HV_ORG, agency=Agency.HEALTH_VISITING, role="health_visitor")
EP = Actor(practitioner_id="eve", organisation_id=EP_ORG, agency=Agency.EP_SERVICE, role="ep")
PARENT = Actor(practitioner_id="mum-1", organisation_id=None, agency=Agency.PARENT, role="parent")

_D = date(2025, 2, 1)
_T = "Some words about the child's progress"


def sample(cls: type[Event]) -> Event:
    """A valid payload of `cls` (every referral and consent event type)."""
    samples: dict[type[Event], Event] = {
        r.ChildRegistered: r.ChildRegistered(setting_organisation_id=SETTING_ORG),
        r.ConcernRaised: r.ConcernRaised(concern_id=uuid4(), areas_of_need=["communication_and_interaction"], summary=_T),
        r.ReferralMade: r.ReferralMade(referral_id=uuid4(), to_organisation_id=SLT_ORG, to_agency=Agency.SLT_SERVICE,
                                       reason=_T, consent_id=uuid4()),
        r.ReferralAccepted: r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING_ORG),
        r.ReferralDeclined: r.ReferralDeclined(referral_id=uuid4(), requested_by_organisation_id=SETTING_ORG, reason=_T),
        r.ReferralWithdrawn: r.ReferralWithdrawn(referral_id=uuid4(), requested_by_organisation_id=SETTING_ORG,
                                                 reason=_T),
        r.ReferralClosed: r.ReferralClosed(referral_id=uuid4(), requested_by_organisation_id=SETTING_ORG, outcome=_T),
        r.TeamMemberJoined: joined_payload(SLT_ORG, Agency.SLT_SERVICE),
        r.TeamMemberLeft: r.TeamMemberLeft(organisation_id=SLT_ORG, ended_by=TeamLeaveRoute.LEFT, reason="discharged"),
        r.InvitationSent: r.InvitationSent(invitation_id=uuid4(), organisation_id=HV_ORG, agency=Agency.HEALTH_VISITING,
                                           expires_on=_D + timedelta(days=14)),
        r.InvitationDeclined: r.InvitationDeclined(invitation_id=uuid4(), organisation_id=HV_ORG,
                                                   requested_by_organisation_id=SETTING_ORG, reason="Not our area"),
        r.KeyPersonNamed: r.KeyPersonNamed(key_person_id="priya", buddy_id="tom"),
        r.SLTReportShared: r.SLTReportShared(report_id=uuid4(), assessment_summary=_T, programme="Daily play"),
        r.EPAdviceShared: r.EPAdviceShared(advice_id=uuid4(), summary=_T),
        r.IntegratedReviewWindowOpened: r.IntegratedReviewWindowOpened(announced_on=_D),
        r.IntegratedReviewScheduled: r.IntegratedReviewScheduled(review_id=uuid4(), scheduled_for=_D),
        r.IntegratedReviewCompleted: r.IntegratedReviewCompleted(
            review_id=uuid4(), completed_on=_D, outcomes={"communication_and_language": "emerging"}),
        r.EHCAssessmentRequested: r.EHCAssessmentRequested(request_id=uuid4(), requested_on=_D, requested_by="parent",
                                                           la_organisation_id="la-north"),
        r.EHCAssessmentStarted: r.EHCAssessmentStarted(request_id=uuid4(), decided_on=_D),
        r.EHCAssessmentDeclined: r.EHCAssessmentDeclined(request_id=uuid4(), decided_on=_D, reason=_T),
        r.EHCAdviceRequested: r.EHCAdviceRequested(request_id=uuid4(), advice_id=uuid4(), from_organisation_id=EP_ORG,
                                                   from_agency=Agency.EP_SERVICE, requested_on=_D,
                                                   due_on=_D + timedelta(weeks=6)),
        r.EHCAdviceSubmitted: r.EHCAdviceSubmitted(request_id=uuid4(), advice_id=uuid4(),
                                                   requested_by_organisation_id="la-north", submitted_on=_D, summary=_T),
        r.EHCDraftPlanIssued: r.EHCDraftPlanIssued(request_id=uuid4(), issued_on=_D,
                                                   comments_due_on=_D + timedelta(days=15)),
        r.EHCPlanFinalised: r.EHCPlanFinalised(request_id=uuid4(), finalised_on=_D,
                                               exceptions=["family_absent_4_weeks"]),
        r.TransitionToSchoolPlanned: r.TransitionToSchoolPlanned(school_organisation_id="school-1", starts_on=_D,
                                                                 plan_summary=_T),
        r.TransitionToSchoolCompleted: r.TransitionToSchoolCompleted(school_organisation_id="school-1",
                                                                     completed_on=_D),
        r.FamilySupportOffered: r.FamilySupportOffered(offer_id=uuid4(), summary=_T),
        r.ParentObservationShared: r.ParentObservationShared(observation_id=uuid4(), text=_T, seen_on=_D),
        r.EHCParentViewsGiven: r.EHCParentViewsGiven(request_id=uuid4(), views_id=uuid4(), parent_views=_T,
                                                     child_views="Likes the sand tray"),
        c.ConsentGranted: granted_payload(),
        c.ConsentWithdrawn: c.ConsentWithdrawn(consent_id=uuid4(), withdrawn_at=NOW, recorded_on_behalf=False),
        c.ConsentExpired: c.ConsentExpired(consent_id=uuid4(), expired_at=NOW),
        c.ConsentExpiryReminderDue: c.ConsentExpiryReminderDue(consent_id=uuid4(), expires_at=NOW + timedelta(days=30)),
        c.SafeguardingAccessGranted: safeguarding_payload(),
    }
    return samples[cls]


def granted_payload(
    *,
    consent_id: UUID | None = None,
    organisations: tuple[str, ...] = (),
    agencies: tuple[Agency, ...] = (Agency.SLT_SERVICE,),
    categories: tuple[Category, ...] = (Category.CONCERN,),
    valid_from: datetime | None = None,
    expires_at: datetime | None = None,
) -> c.ConsentGranted:
    valid_from = valid_from or NOW - timedelta(days=1)
    return c.ConsentGranted(
        consent_id=consent_id or uuid4(),
        given_by=c.ConsentGiver(person_id="mum-1", relationship="mother", has_parental_responsibility=True),
        recorded_on_behalf=True,
        recipients=c.Recipients(organisation_ids=organisations, agencies=agencies),
        categories=categories,
        purposes=(Purpose.REFERRAL,),
        valid_from=valid_from,
        expires_at=expires_at or valid_from + timedelta(days=365),
    )


def safeguarding_payload(*, organisation: str = HV_ORG, granted_at: datetime | None = None,
                         hours: int = 24) -> c.SafeguardingAccessGranted:
    granted_at = granted_at or NOW - timedelta(hours=1)
    return c.SafeguardingAccessGranted(
        grant_id=uuid4(),
        organisation_id=organisation,
        justification="Concern for the child's immediate safety reported by the health visitor",
        granted_at=granted_at,
        expires_at=granted_at + timedelta(hours=hours),
    )


def envelope(data: Event, child: UUID, actor: Actor = SETTING, *, time: datetime | None = None,
             event_id: UUID | None = None) -> EnvelopeBase:
    source = "/tac/consent" if isinstance(data, c._Consent) else "/tac/referrals"
    return make_envelope(data, subject=child, actor=actor, source=source, time=time or NOW, event_id=event_id)


def joined_payload(organisation: str, agency: Agency, *,
                   through: TeamJoinRoute = TeamJoinRoute.REFERRAL_ACCEPTED) -> r.TeamMemberJoined:
    return r.TeamMemberJoined(organisation_id=organisation, agency=agency, role="practitioner", joined_through=through)


def registered(child: UUID, setting: str = SETTING_ORG, *, time: datetime | None = None) -> EnvelopeBase:
    """The setting registers the child: the setting is on the child's team from `time`."""
    return envelope(r.ChildRegistered(setting_organisation_id=setting), child, time=time or NOW - timedelta(days=2))


def joined(child: UUID, organisation: str, agency: Agency, *, time: datetime | None = None,
           through: TeamJoinRoute = TeamJoinRoute.REFERRAL_ACCEPTED) -> EnvelopeBase:
    """`organisation` joins the child's team at `time` (default: a day before NOW)."""
    return envelope(joined_payload(organisation, agency, through=through), child, time=time or NOW - timedelta(days=1))


def left(child: UUID, organisation: str, *, time: datetime | None = None,
         ended_by: TeamLeaveRoute = TeamLeaveRoute.REMOVED_BY_PARENT) -> EnvelopeBase:
    data = r.TeamMemberLeft(organisation_id=organisation, ended_by=ended_by, reason="No longer involved")
    return envelope(data, child, time=time or NOW - timedelta(hours=1))


def withdrawn(child: UUID, consent_id: UUID, *, time: datetime | None = None) -> EnvelopeBase:
    return envelope(c.ConsentWithdrawn(consent_id=consent_id, withdrawn_at=time or NOW, recorded_on_behalf=False),
                    child, time=time)


def concern(child: UUID, actor: Actor = SETTING, *, time: datetime | None = None) -> EnvelopeBase:
    return envelope(sample(r.ConcernRaised), child, actor, time=time)


TIMELINE_EVENT_CLASSES: tuple[type[Event], ...] = r.EVENTS + (c.ConsentGranted, c.ConsentWithdrawn, c.ConsentExpired)


def stored_entry(entry: NewEntry) -> StoredEntry:
    """The entry as a read takes it back from the store (services.timeline.adapters.store)."""
    return StoredEntry(entry.event_id, entry.child_id, entry.occurred_at, entry.author_organisation_id, entry.category,
                       entry.answers_request_of, render(entry))


def stored(env: EnvelopeBase) -> StoredEntry:
    return stored_entry(entry_from_envelope(env))
