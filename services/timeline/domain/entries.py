"""The timeline's pure rules (DESIGN §3, §4), part one: which events become entries and how an
entry reads to a person. Who may see what is in .reading.

Pure: the contracts, the consent service's published decision, and the standard library. No
Kafka, database, web framework or logging here, so every rule is unit-testable on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from schemas import topics
from schemas.envelope import EnvelopeBase, Event
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import TeamLeaveRoute
from consent_policy.decision import Entry
from consent_policy.state import FOLDED_TYPES

SUMMARY_MAX_CHARS = 240

# Every event the decision's state folds (consent_policy.state.FOLDED_TYPES): the four
# consent events of tac.consent.v1 and the team events of tac.referrals.v1 (ChildRegistered,
# TeamMemberJoined, TeamMemberLeft). The timeline keeps exactly these in its copy of the state.
CONSENT_STATE_TYPES: frozenset[str] = FOLDED_TYPES
# Those that also appear on the timeline as `consent` entries, so the family and the team see
# when sharing changed. A safeguarding (break-glass) grant is NOT an entry: it is shared
# without consent, its justification may concern someone at home, and the information-sharing
# advice (HM Government, 2024) says to tell the family only "when safe" — a person's judgement,
# not a timeline's. It stays on tac.consent.v1 and in the consent service's audited list.
CONSENT_ENTRY_TYPES: frozenset[str] = frozenset(
    cls.TYPE for cls in (c.ConsentGranted, c.ConsentWithdrawn, c.ConsentExpired)
)
# Every fact about a child's case on tac.referrals.v1 is an entry.
REFERRAL_TYPES: frozenset[str] = frozenset(cls.TYPE for cls in r.EVENTS)
TIMELINE_TYPES: frozenset[str] = REFERRAL_TYPES | CONSENT_ENTRY_TYPES


class Source:
    """Which input topic a message came from; each topic carries only its own event types
    (services.common.incoming.misrouted_reason refuses the others)."""

    REFERRALS = topics.REFERRALS
    CONSENT = topics.CONSENT


@dataclass(frozen=True)
class NewEntry:
    """A timeline entry as stored, built from one envelope."""

    event_id: UUID
    child_id: UUID
    event_type: str
    category: str
    occurred_at: datetime
    author_practitioner_id: str
    author_organisation_id: str | None
    author_agency: str
    author_role: str
    summary: str
    payload: Mapping[str, Any]
    answers_request_of: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A timeline entry as a read takes it from the store: what the consent decision reads of
    it, where it sits in the timeline (a page's cursor), and `shown_as`, the entry as the API
    shows it, rendered when it was stored (services.timeline.adapters.shown_as). The rest of
    the entry's columns stay in the store, and no read needs them."""

    event_id: UUID
    child_id: UUID
    occurred_at: datetime
    author_organisation_id: str | None
    category: str
    answers_request_of: str | None
    shown_as: str

    def as_decision_entry(self) -> Entry:
        return Entry(self.event_id, self.child_id, self.author_organisation_id, self.category,
                     answers_request_of=self.answers_request_of)


@dataclass(frozen=True)
class ShownEntry:
    entry: StoredEntry
    basis: str


def entry_from_envelope(envelope: EnvelopeBase) -> NewEntry:
    if envelope.type not in TIMELINE_TYPES:
        raise ValueError(f"{envelope.type} is not a timeline entry")
    # The envelope's actor attributes as they are (validated on parsing): building an Actor
    # from them again was 3% of ingest (bench/results/profile-ingest-*).
    return NewEntry(
        event_id=envelope.id,
        child_id=envelope.subject,
        event_type=envelope.type,
        category=envelope.category,
        occurred_at=envelope.time.astimezone(timezone.utc),
        author_practitioner_id=envelope.actorpractitionerid,
        author_organisation_id=envelope.actororganisationid,
        author_agency=str(envelope.actoragency),
        author_role=envelope.actorrole,
        summary=summarise(envelope.data),
        payload=envelope.data.model_dump(mode="json"),
        answers_request_of=answers_request_of(envelope.data),
    )


# The entries table's category column holds 64 characters; a longer (unknown) category is
# clipped, which can never make it a known one, so the decision still denies it to everyone.
CATEGORY_MAX_CHARS = 64


def entry_from_unknown(envelope: EnvelopeBase) -> NewEntry:
    """An entry for an event of a type this build does not know (a newer producer's): that
    something happened, when, and who did it, filed under the envelope's `category` so the
    consent decision filters it like any other entry. Its data is not kept: this build cannot
    tell what it says, so it shows nothing of it (a newer build can replay the topic)."""
    actor = envelope.actor
    return NewEntry(
        event_id=envelope.id,
        child_id=envelope.subject,
        event_type=envelope.type[:200],
        category=envelope.category[:CATEGORY_MAX_CHARS],
        occurred_at=envelope.time.astimezone(timezone.utc),
        author_practitioner_id=actor.practitioner_id,
        author_organisation_id=actor.organisation_id,
        author_agency=str(actor.agency),
        author_role=actor.role,
        summary=_clip(f"Something happened that this version of TAC cannot describe yet ({envelope.type})",
                      SUMMARY_MAX_CHARS),
        payload={},
    )


def answers_request_of(data: Event) -> str | None:
    """The organisation whose request this event answers (the decision's rule 3,
    `own_request`): the contracts name it `requested_by_organisation_id` on every answer — the
    accept, decline, withdrawal or closure of a referral, submitted advice, an LA's decision
    on an EHC request it received from an organisation, a declined invitation."""
    # Asked of the class: a missing attribute goes through pydantic's slow __getattr__.
    if "requested_by_organisation_id" not in type(data).model_fields:
        return None
    return data.requested_by_organisation_id or None  # type: ignore[attr-defined]


# -- summaries ---------------------------------------------------------------------------


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(values: Iterable[Any]) -> str:
    return ", ".join(_words(v) for v in values)


_LEFT: Mapping[str, str] = {
    TeamLeaveRoute.LEFT: "left the team",
    TeamLeaveRoute.REMOVED_BY_SETTING: "was removed from the team by the setting",
    TeamLeaveRoute.REMOVED_BY_PARENT: "was removed from the team by the parent",
}

_SUMMARIES: dict[type[Event], Callable[[Any], str]] = {
    r.ChildRegistered: lambda d: f"Child registered at setting {d.setting_organisation_id}",
    r.ConcernRaised: lambda d: f"Concern raised ({_list(d.areas_of_need)}): {_clip(d.summary)}",
    r.ReferralMade: lambda d: f"Referral made to {_words(d.to_agency)} {d.to_organisation_id}: {_clip(d.reason)}",
    r.ReferralAccepted: lambda d: "Referral accepted",
    r.ReferralDeclined: lambda d: f"Referral declined: {_clip(d.reason)}",
    r.ReferralWithdrawn: lambda d: f"Referral withdrawn: {_clip(d.reason)}",
    r.ReferralClosed: lambda d: f"Referral closed: {_clip(d.outcome)}",
    r.TeamMemberJoined: lambda d: f"{d.organisation_id} ({_words(d.agency)}, {_words(d.role)}) joined the team "
    f"({_words(d.joined_through)})",
    r.TeamMemberLeft: lambda d: f"{d.organisation_id} {_LEFT[d.ended_by]}" + (f": {_clip(d.reason)}" if d.reason else ""),
    r.InvitationSent: lambda d: f"{d.organisation_id} ({_words(d.agency)}) invited to join the team, "
    f"until {d.expires_on.isoformat()}",
    r.InvitationDeclined: lambda d: f"{d.organisation_id} declined the invitation to join the team"
    + (f": {_clip(d.reason)}" if d.reason else ""),
    r.KeyPersonNamed: lambda d: f"Key person named: {d.key_person_id}" + (f" (buddy {d.buddy_id})" if d.buddy_id else ""),
    r.SLTReportShared: lambda d: f"Speech and language therapy report shared: {_clip(d.assessment_summary)}",
    r.EPAdviceShared: lambda d: f"Educational psychology advice shared: {_clip(d.summary)}",
    r.IntegratedReviewWindowOpened: lambda d: "Nearing 24 months: time to plan the integrated review at two",
    r.IntegratedReviewScheduled: lambda d: f"Integrated review at two scheduled for {d.scheduled_for.isoformat()}",
    r.IntegratedReviewCompleted: lambda d: "Integrated review completed: "
    + "; ".join(f"{_words(area)} {_words(outcome)}" for area, outcome in sorted(d.outcomes.items())),
    r.EHCAssessmentRequested: lambda d: f"EHC needs assessment requested by {_words(d.requested_by)} "
    f"on {d.requested_on.isoformat()}",
    r.EHCAssessmentStarted: lambda d: f"Local authority decided to assess (EHC) on {d.decided_on.isoformat()}",
    r.EHCAssessmentDeclined: lambda d: f"Local authority decided not to assess (EHC): {_clip(d.reason)}",
    r.EHCAdviceRequested: lambda d: f"EHC advice requested from {_words(d.from_agency)} {d.from_organisation_id}, "
    f"due {d.due_on.isoformat()}",
    r.EHCAdviceSubmitted: lambda d: f"EHC advice submitted: {_clip(d.summary)}",
    r.EHCDraftPlanIssued: lambda d: f"Draft EHC plan issued; comments due by {d.comments_due_on.isoformat()}",
    r.EHCPlanFinalised: lambda d: f"EHC plan finalised on {d.finalised_on.isoformat()}"
    + (f" (late, excused: {_list(d.exceptions)})" if d.exceptions else ""),
    r.TransitionToSchoolPlanned: lambda d: f"Transition to school {d.school_organisation_id} planned for "
    f"{d.starts_on.isoformat()}: {_clip(d.plan_summary)}",
    r.TransitionToSchoolCompleted: lambda d: f"Started at school {d.school_organisation_id} on "
    f"{d.completed_on.isoformat()}",
    r.FamilySupportOffered: lambda d: f"Family support offered: {_clip(d.summary)}",
    # A parent's own entries (author: the parent, no organisation).
    r.ParentObservationShared: lambda d: "Parent shared what they see at home"
    + (f" (seen {d.seen_on.isoformat()})" if d.seen_on else "") + f": {_clip(d.text)}",
    r.EHCParentViewsGiven: lambda d: "Parent gave their views for the EHC needs assessment"
    + (" and the child's views" if d.child_views else "") + f": {_clip(d.parent_views)}",
    c.ConsentGranted: lambda d: f"Consent given by {_words(d.given_by.relationship)} for {_list(d.categories)} "
    f"to {_list([*d.recipients.organisation_ids, *d.recipients.agencies])} until {d.expires_at.date().isoformat()}",
    c.ConsentWithdrawn: lambda d: f"Consent {d.consent_id} withdrawn",
    c.ConsentExpired: lambda d: f"Consent {d.consent_id} expired",
}


def summarise(data: Event) -> str:
    """A one-line account of the event for a person reading the timeline.

    Built only from the payload, which is exactly what a viewer permitted to see the entry
    may see; no name, address or date of birth ever travels on the bus (DESIGN §2)."""
    render = _SUMMARIES.get(type(data))
    text = render(data) if render is not None else type(data).__name__
    return _clip(text, SUMMARY_MAX_CHARS)
