"""Envelopes and subscribers for the notifications unit tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, Event
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute, TeamLeaveRoute
from services.notifications.domain.recipients import Subscriber

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

SETTING = "org-setting"
SLT = "org-slt"
EP = "org-ep"
OUTSIDER = "org-outsider"
OTHER_SETTING = "org-other-setting"  # of the same agency as SETTING
LA = "org-la"
OTHER_LA = "org-other-la"  # of the same agency as LA

AGENCY_OF = {SETTING: Agency.SETTING, SLT: Agency.SLT_SERVICE, EP: Agency.EP_SERVICE, OUTSIDER: Agency.HEALTH_VISITING,
             OTHER_SETTING: Agency.SETTING, LA: Agency.LA_SEN_TEAM, OTHER_LA: Agency.LA_SEN_TEAM}


def actor(org: str | None = SETTING, person: str = "senco-1", agency: Agency | None = None) -> Actor:
    if org is None:
        return Actor(practitioner_id=person, organisation_id=None, agency=Agency.PARENT, role="parent")
    return Actor(practitioner_id=person, organisation_id=org, agency=agency or AGENCY_OF.get(org, Agency.SETTING),
                 role="senco")


def envelope(data: Event, child: UUID, *, by: Actor | None = None, at: datetime = NOW) -> EnvelopeBase:
    source = "/tac/consent" if data.TYPE.startswith("tac.consent") else "/tac/referrals"
    return make_envelope(data, subject=child, actor=by or actor(), source=source, time=at)


def practitioner(org: str, person: str | None = None, *, role: str = "practitioner", email: str | None = None,
                 webhook_url: str | None = None) -> Subscriber:
    return Subscriber(person or f"{org}-person", org, AGENCY_OF.get(org, Agency.SETTING), role,
                      email=email, webhook_url=webhook_url)


# A token still valid whenever a test runs (the integration tests use the real clock).
EXPIRED = NOW - timedelta(days=1)
FAR_FUTURE = NOW + timedelta(days=3650)


def parent(person: str, *children: UUID, valid_until: datetime | None = FAR_FUTURE,
           email: str | None = None, webhook_url: str | None = None) -> Subscriber:
    """A parent whose subscribing token (naming `children`) expires at `valid_until`."""
    return Subscriber(person, None, Agency.PARENT, "parent", frozenset(children), email=email,
                      webhook_url=webhook_url, children_valid_until=valid_until)


def consent_granted(child: UUID, *, orgs: tuple[str, ...] = (), agencies: tuple[Agency, ...] = (),
                    categories: tuple[Category, ...] = tuple(Category), consent_id: UUID | None = None,
                    valid_from: datetime = NOW - timedelta(days=1),
                    expires_at: datetime = NOW + timedelta(days=365)) -> EnvelopeBase:
    data = c.ConsentGranted(
        consent_id=consent_id or uuid4(),
        given_by=c.ConsentGiver(person_id="parent-1", relationship="mother", has_parental_responsibility=True),
        recorded_on_behalf=True,
        recipients=c.Recipients(organisation_ids=orgs, agencies=agencies),
        categories=categories,
        purposes=(Purpose.COORDINATION,),
        valid_from=valid_from,
        expires_at=expires_at,
    )
    return envelope(data, child)


def consent_withdrawn(child: UUID, consent_id: UUID) -> EnvelopeBase:
    return envelope(c.ConsentWithdrawn(consent_id=consent_id, withdrawn_at=NOW, recorded_on_behalf=False), child,
                    by=actor(None, "parent-1"))


def team_joined(child: UUID, org: str, *, at: datetime = NOW - timedelta(days=30)) -> EnvelopeBase:
    """The organisation joined the child's team (it accepted a referral); the setting is
    registered instead (ChildRegistered puts it on the team)."""
    if org == SETTING:
        return envelope(r.ChildRegistered(setting_organisation_id=SETTING), child, at=at)
    return envelope(r.TeamMemberJoined(organisation_id=org, agency=AGENCY_OF[org], role=AGENCY_OF[org].value,
                                       joined_through=TeamJoinRoute.REFERRAL_ACCEPTED), child, at=at)


def team_left(child: UUID, org: str, *, at: datetime = NOW - timedelta(days=1)) -> EnvelopeBase:
    return envelope(r.TeamMemberLeft(organisation_id=org, ended_by=TeamLeaveRoute.REMOVED_BY_PARENT), child, at=at)
