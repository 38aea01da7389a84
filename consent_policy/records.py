"""The values the consent policy reasons about: who looks (``Viewer``), what is looked at
(``Entry``), and what each folded event says (``ConsentRecord``, ``SafeguardingGrant``,
``TeamChange``).

Pure: the contracts and the standard library only. ``consent_policy.state`` folds events into
these records; ``consent_policy.decision`` decides with them (and re-exports ``Viewer`` and
``Entry``, which is where callers import them from).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.events.consent import ConsentGranted, SafeguardingAccessGranted
from schemas.vocabulary import Agency

__all__ = ["ConsentRecord", "Entry", "SafeguardingGrant", "TeamChange", "Viewer", "as_uuid", "require_aware"]


def as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a practitioner acting for one organisation, or a parent.

    A parent has ``agency=Agency.PARENT`` and no organisation; ``children`` are the children
    they hold parental responsibility for (Children Act 1989 s.3). A practitioner's
    ``children`` are ignored by the decision.
    """

    practitioner_id: str
    organisation_id: str | None
    agency: Agency
    children: frozenset[UUID] = frozenset()

    def __post_init__(self) -> None:
        agency = Agency(self.agency)  # ValueError for an unknown agency
        object.__setattr__(self, "agency", agency)
        object.__setattr__(self, "children", frozenset(as_uuid(c) for c in self.children))
        # A malformed viewer is a programming error upstream; refusing it is safer than
        # guessing which rules apply.
        if agency is Agency.PARENT and self.organisation_id is not None:
            raise ValueError("a parent acts for no organisation: organisation_id must be None")
        if agency is not Agency.PARENT and not self.organisation_id:
            raise ValueError("a practitioner acts for exactly one organisation: organisation_id is required")

    @property
    def is_parent(self) -> bool:
        return self.agency is Agency.PARENT


@dataclass(frozen=True)
class Entry:
    """A timeline entry: one event about one child. ``author_organisation_id`` is None when a
    parent wrote it; ``category`` is the envelope's category string as received;
    ``answers_request_of`` is the organisation whose request the entry answers (the acceptance,
    decline, withdrawal or closure of its referral, advice it asked for), if any."""

    event_id: UUID
    child_id: UUID
    author_organisation_id: str | None
    category: str
    answers_request_of: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "event_id", as_uuid(self.event_id))
        object.__setattr__(self, "child_id", as_uuid(self.child_id))
        object.__setattr__(self, "category", str(self.category))


@dataclass(frozen=True)
class ConsentRecord:
    """What a ConsentGranted says, as far as the decision needs it. The giver's name is not
    here: it never leaves the consent service's store."""

    consent_id: UUID
    child_id: UUID
    organisation_ids: frozenset[str]
    agencies: frozenset[Agency]
    categories: frozenset[str]
    valid_from: datetime
    expires_at: datetime

    @classmethod
    def from_event(cls, child_id: UUID, data: ConsentGranted) -> "ConsentRecord":
        return cls(
            consent_id=data.consent_id,
            child_id=as_uuid(child_id),
            organisation_ids=frozenset(data.recipients.organisation_ids),
            agencies=frozenset(data.recipients.agencies),
            categories=frozenset(c.value for c in data.categories),
            valid_from=data.valid_from,
            expires_at=data.expires_at,
        )

    def in_period(self, now: datetime) -> bool:
        # Half-open period: active from valid_from, no longer active at expires_at.
        return self.valid_from <= now < self.expires_at

    def names(self, viewer: Viewer) -> bool:
        return viewer.organisation_id in self.organisation_ids or viewer.agency in self.agencies

    def covers(self, viewer: Viewer, entry: Entry) -> bool:
        return self.child_id == entry.child_id and self.names(viewer) and entry.category in self.categories


@dataclass(frozen=True)
class TeamChange:
    """One organisation joining (``joined``) or leaving a child's team at ``at`` (the event's
    time). The child's registration by its setting counts as the setting joining."""

    event_id: UUID
    child_id: UUID
    organisation_id: str
    joined: bool
    at: datetime

    @property
    def order(self) -> tuple[datetime, bool, UUID]:
        # Latest change wins; on a tie in time a leave wins over a join (fail safe), then the
        # event id decides so every copy reaches the same answer whatever the arrival order.
        return (self.at, not self.joined, self.event_id)


@dataclass(frozen=True)
class SafeguardingGrant:
    """Break-glass access of one organisation to one child's whole timeline, time-limited
    (HM Government, Information sharing advice for safeguarding practitioners, 2024)."""

    grant_id: UUID
    child_id: UUID
    organisation_id: str
    granted_at: datetime
    expires_at: datetime

    @classmethod
    def from_event(cls, child_id: UUID, data: SafeguardingAccessGranted) -> "SafeguardingGrant":
        return cls(
            grant_id=data.grant_id,
            child_id=as_uuid(child_id),
            organisation_id=data.organisation_id,
            granted_at=data.granted_at,
            expires_at=data.expires_at,
        )

    def in_period(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at

    def covers(self, viewer: Viewer, entry: Entry, now: datetime) -> bool:
        return self.child_id == entry.child_id and self.organisation_id == viewer.organisation_id and self.in_period(now)
