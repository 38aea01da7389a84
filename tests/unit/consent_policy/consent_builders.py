"""Builders for the events the consent decision folds (consent events, and the team events of
the referrals service), shared by the consent service's unit tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

from schemas.catalogue import make_envelope
from schemas.envelope import Actor
from schemas.events.consent import (
    ConsentExpired,
    ConsentGiver,
    ConsentGranted,
    ConsentWithdrawn,
    Recipients,
    SafeguardingAccessGranted,
)
from schemas.events.referrals import ChildRegistered, InvitationDeclined, InvitationSent, TeamMemberJoined, TeamMemberLeft
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute, TeamLeaveRoute

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
SETTING_ACTOR = Actor(practitioner_id="senco-1", organisation_id="nursery-1", agency=Agency.SETTING, role="senco")


class ConsentEvents:
    """Envelopes as the consent service would publish them, with readable defaults."""

    now = NOW

    def granted(
        self,
        child: UUID,
        *,
        consent_id: UUID | None = None,
        organisations: tuple[str, ...] = (),
        agencies: tuple[Agency, ...] = (),
        categories: tuple[Category, ...] = (Category.CONCERN,),
        valid_from: datetime | None = None,
        expires_at: datetime | None = None,
    ):
        valid_from = valid_from or NOW - timedelta(days=1)
        return make_envelope(
            ConsentGranted(
                consent_id=consent_id or uuid4(),
                given_by=ConsentGiver(person_id="parent-1", relationship="mother", has_parental_responsibility=True),
                recorded_on_behalf=True,
                recipients=Recipients(organisation_ids=organisations, agencies=agencies),
                categories=categories,
                purposes=(Purpose.COORDINATION,),
                valid_from=valid_from,
                expires_at=expires_at or valid_from + timedelta(days=365),
            ),
            subject=child,
            actor=SETTING_ACTOR,
            source="/tac/consent",
        )

    def withdrawn(self, child: UUID, consent_id: UUID, *, withdrawn_at: datetime | None = None):
        return make_envelope(
            ConsentWithdrawn(consent_id=consent_id, withdrawn_at=withdrawn_at or NOW, recorded_on_behalf=False),
            subject=child,
            actor=SETTING_ACTOR,
            source="/tac/consent",
        )

    def expired(self, child: UUID, consent_id: UUID, *, expired_at: datetime | None = None):
        return make_envelope(
            ConsentExpired(consent_id=consent_id, expired_at=expired_at or NOW),
            subject=child,
            actor=SETTING_ACTOR,
            source="/tac/consent",
        )

    def safeguarding(
        self,
        child: UUID,
        organisation: str,
        *,
        grant_id: UUID | None = None,
        granted_at: datetime | None = None,
        hours: float = 72,
    ):
        granted_at = granted_at or NOW - timedelta(hours=1)
        return make_envelope(
            SafeguardingAccessGranted(
                grant_id=grant_id or uuid4(),
                organisation_id=organisation,
                justification="Bruising seen at drop-off; child protection enquiry under way.",
                granted_at=granted_at,
                expires_at=granted_at + timedelta(hours=hours),
            ),
            subject=child,
            actor=SETTING_ACTOR,
            source="/tac/consent",
        )

    # -- the team (tac.referrals.v1) ---------------------------------------------------------

    def registered(self, child: UUID, setting: str = "nursery-1", *, at: datetime | None = None):
        """The setting registers the child: the setting is on the team from then."""
        return self._team_event(ChildRegistered(setting_organisation_id=setting), child, at)

    def joined(
        self,
        child: UUID,
        organisation: str,
        *,
        agency: Agency = Agency.SLT_SERVICE,
        at: datetime | None = None,
        through: TeamJoinRoute = TeamJoinRoute.REFERRAL_ACCEPTED,
        event_id: UUID | None = None,
    ):
        """``organisation`` joins the team at ``at`` (default: a day before NOW)."""
        invitation_id = uuid4() if through is TeamJoinRoute.INVITATION else None
        data = TeamMemberJoined(organisation_id=organisation, agency=agency, role="practitioner",
                                joined_through=through, invitation_id=invitation_id)
        return self._team_event(data, child, at, event_id=event_id)

    def left(
        self,
        child: UUID,
        organisation: str,
        *,
        at: datetime | None = None,
        ended_by: TeamLeaveRoute = TeamLeaveRoute.LEFT,
        event_id: UUID | None = None,
    ):
        """``organisation`` leaves (or is removed from) the team at ``at`` (default: NOW)."""
        data = TeamMemberLeft(organisation_id=organisation, ended_by=ended_by, reason="No longer involved")
        return self._team_event(data, child, at or NOW, event_id=event_id)

    def invited(self, child: UUID, organisation: str, *, agency: Agency = Agency.AREA_SENCO, at: datetime | None = None):
        data = InvitationSent(invitation_id=uuid4(), organisation_id=organisation, agency=agency,
                              expires_on=date(2025, 3, 15))
        return self._team_event(data, child, at)

    def invitation_declined(self, child: UUID, organisation: str, *, at: datetime | None = None):
        data = InvitationDeclined(invitation_id=uuid4(), organisation_id=organisation,
                                  requested_by_organisation_id="nursery-1", reason="Not our area")
        return self._team_event(data, child, at)

    def _team_event(self, data, child: UUID, at: datetime | None, *, event_id: UUID | None = None):
        return make_envelope(data, subject=child, actor=SETTING_ACTOR, source="/tac/referrals",
                             time=at or NOW - timedelta(days=1), event_id=event_id)
