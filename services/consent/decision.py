"""The consent decision: may this viewer see this entry of a child's timeline, now, and why.

This is the consent service's *published* module (DESIGN §3, STYLE "What we adopt" 3): the
timeline and notifications services import it to enforce the same rule everywhere, so it is
pure — it imports the contracts and the standard library, never Kafka, a database or a web
framework, and does no I/O.

Two things live here:

* ``ConsentState`` — an immutable fold of the consent events on ``tac.consent.v1``
  (ConsentGranted, ConsentWithdrawn, ConsentExpired, SafeguardingAccessGranted) and of the
  team events on ``tac.referrals.v1`` (ChildRegistered puts the child's setting on the team,
  TeamMemberJoined, TeamMemberLeft): ``FOLDED_TYPES``. Every service that enforces the
  decision keeps its own copy by folding those events. The fold is a union of sets, so it is
  idempotent (a redelivered event changes nothing) and insensitive to arrival order (a
  withdrawal that overtakes its grant still withdraws it: fail safe; team membership at a
  moment is read from the latest join or leave at or before it, by event time).
* ``decide(viewer, entry, now, state)`` — rules 1–6 of DESIGN §3, checked at read time on the
  current state, returning a ``Decision`` that carries the basis of a permit or the reason for
  a denial. HM Government's information-sharing advice (2024) asks practitioners to record why
  they did or did not share; the basis and reason are that record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from schemas.envelope import Event
from schemas.events.consent import ConsentExpired, ConsentGranted, ConsentWithdrawn, SafeguardingAccessGranted
from schemas.events.referrals import ChildRegistered, TeamMemberJoined, TeamMemberLeft
from schemas.vocabulary import Agency, Category

__all__ = [
    "BASIS_OWN",
    "BASIS_OWN_REQUEST",
    "BASIS_PARENT",
    "FOLDED_TYPES",
    "NOT_ON_TEAM",
    "NO_ACTIVE_CONSENT",
    "NOT_PARENT_OF_CHILD",
    "UNKNOWN_CATEGORY",
    "ConsentRecord",
    "ConsentState",
    "Decision",
    "Entry",
    "SafeguardingGrant",
    "TeamChange",
    "Viewer",
    "decide",
]

BASIS_PARENT = "parent"
BASIS_OWN = "own"
BASIS_OWN_REQUEST = "own_request"
_SAFEGUARDING = "safeguarding"
_CONSENT = "consent"

# Deny reason codes (the part of Decision.reason before the first colon).
UNKNOWN_CATEGORY = "unknown_category"
NOT_PARENT_OF_CHILD = "not_parent_of_child"
NO_ACTIVE_CONSENT = "no_active_consent"
NOT_ON_TEAM = "not_on_team"

# Every event type the state folds; a service enforcing the decision keeps these (and only
# these need keeping) in its copy of the state.
FOLDED_TYPES: frozenset[str] = frozenset(cls.TYPE for cls in (
    ConsentGranted, ConsentWithdrawn, ConsentExpired, SafeguardingAccessGranted,
    ChildRegistered, TeamMemberJoined, TeamMemberLeft,
))

# Only the data categories a parent can consent to (DESIGN §3) can ever be shown. Anything
# else — a typo, a category from a newer contract version, `audit` — is denied to everyone,
# parents and authors included: deny is the default.
_CATEGORIES: frozenset[str] = frozenset(c.value for c in Category)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _require_aware(name: str, value: datetime) -> None:
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
        object.__setattr__(self, "children", frozenset(_uuid(c) for c in self.children))
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
        object.__setattr__(self, "event_id", _uuid(self.event_id))
        object.__setattr__(self, "child_id", _uuid(self.child_id))
        object.__setattr__(self, "category", str(self.category))


@dataclass(frozen=True)
class Decision:
    """``permitted`` with its ``basis`` ("parent", "own", "own_request", "safeguarding:<grant id>",
    "consent:<consent id>"), or a denial (``basis`` None).

    ``reason`` is always ``"<code>: <words>"``: for a permit the code is the basis kind, for a
    denial one of ``unknown_category``, ``not_parent_of_child``, ``not_on_team``,
    ``no_active_consent``.
    """

    permitted: bool
    basis: str | None
    reason: str

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0]


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
            child_id=_uuid(child_id),
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
            child_id=_uuid(child_id),
            organisation_id=data.organisation_id,
            granted_at=data.granted_at,
            expires_at=data.expires_at,
        )

    def in_period(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at

    def covers(self, viewer: Viewer, entry: Entry, now: datetime) -> bool:
        return self.child_id == entry.child_id and self.organisation_id == viewer.organisation_id and self.in_period(now)


def _index(items: Iterable[Any], id_attr: str) -> tuple[Mapping[UUID, frozenset[Any]], Mapping[UUID, frozenset[UUID]]]:
    by_id: dict[UUID, set[Any]] = {}
    by_child: dict[UUID, set[UUID]] = {}
    for item in items:
        item_id = getattr(item, id_attr)
        by_id.setdefault(item_id, set()).add(item)
        by_child.setdefault(item.child_id, set()).add(item_id)
    return (
        MappingProxyType({k: frozenset(v) for k, v in by_id.items()}),
        MappingProxyType({k: frozenset(v) for k, v in by_child.items()}),
    )


@dataclass(frozen=True)
class ConsentState:
    """Immutable consent state, folded from consent events; equal states compare equal.

    Every field is a set, so folding is idempotent and order-insensitive. Two grants carrying
    the same id but different content (a contract breach) both stay: such a consent or grant
    permits only what every version of it permits.
    """

    grants: frozenset[ConsentRecord] = frozenset()
    withdrawn: frozenset[UUID] = frozenset()
    expired: frozenset[UUID] = frozenset()
    safeguarding: frozenset[SafeguardingGrant] = frozenset()
    team: frozenset[TeamChange] = frozenset()
    _consents_by_id: Mapping[UUID, frozenset[ConsentRecord]] = field(init=False, repr=False, compare=False)
    _consents_by_child: Mapping[UUID, frozenset[UUID]] = field(init=False, repr=False, compare=False)
    _grants_by_id: Mapping[UUID, frozenset[SafeguardingGrant]] = field(init=False, repr=False, compare=False)
    _grants_by_child: Mapping[UUID, frozenset[UUID]] = field(init=False, repr=False, compare=False)
    _team_by_member: Mapping[tuple[UUID, str], tuple[TeamChange, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        consents_by_id, consents_by_child = _index(self.grants, "consent_id")
        grants_by_id, grants_by_child = _index(self.safeguarding, "grant_id")
        object.__setattr__(self, "_consents_by_id", consents_by_id)
        object.__setattr__(self, "_consents_by_child", consents_by_child)
        object.__setattr__(self, "_grants_by_id", grants_by_id)
        object.__setattr__(self, "_grants_by_child", grants_by_child)
        by_member: dict[tuple[UUID, str], list[TeamChange]] = {}
        for change in self.team:
            by_member.setdefault((change.child_id, change.organisation_id), []).append(change)
        object.__setattr__(self, "_team_by_member", MappingProxyType(
            {k: tuple(sorted(v, key=lambda c: c.order)) for k, v in by_member.items()}))

    # -- folding -------------------------------------------------------------------------

    def apply(self, envelope: Any) -> "ConsentState":
        """The state after one event envelope; envelopes of other types leave it unchanged."""
        return self._with(*_contribution(envelope))

    @classmethod
    def from_events(cls, envelopes: Iterable[Any]) -> "ConsentState":
        """Fold envelopes (in any order, duplicates allowed) into a state in one pass."""
        parts: tuple[set[Any], ...] = (set(), set(), set(), set(), set())
        for envelope in envelopes:
            for acc, more in zip(parts, _contribution(envelope)):
                acc |= more
        return cls(*(frozenset(p) for p in parts))

    def _with(self, grants: Iterable[ConsentRecord], withdrawn: Iterable[UUID], expired: Iterable[UUID],
              safeguarding: Iterable[SafeguardingGrant], team: Iterable[TeamChange]) -> "ConsentState":
        old = (self.grants, self.withdrawn, self.expired, self.safeguarding, self.team)
        new = tuple(o | frozenset(n) for o, n in zip(old, (grants, withdrawn, expired, safeguarding, team)))
        if new == old:
            return self
        return replace(self, grants=new[0], withdrawn=new[1], expired=new[2], safeguarding=new[3], team=new[4])

    # -- queries -------------------------------------------------------------------------

    def consent_ids_for(self, child_id: UUID) -> frozenset[UUID]:
        """Ids of every consent granted for the child, whatever its status."""
        return self._consents_by_child.get(_uuid(child_id), frozenset())

    def consent_versions(self, consent_id: UUID) -> frozenset[ConsentRecord]:
        """What the grant(s) of ``consent_id`` said; empty when no grant has been seen."""
        return self._consents_by_id.get(_uuid(consent_id), frozenset())

    def is_active(self, consent_id: UUID, now: datetime) -> bool:
        """Granted, started, not yet expired, never withdrawn and never declared expired.

        A withdrawal ends consent at once, whatever date it carries and in whatever order it
        arrived (DESIGN §3: "withdrawal is immediate"); a ConsentExpired ends it too.
        """
        _require_aware("now", now)
        consent_id = _uuid(consent_id)
        versions = self.consent_versions(consent_id)
        return (bool(versions) and consent_id not in self.withdrawn and consent_id not in self.expired
                and all(v.in_period(now) for v in versions))

    def is_team_member(self, child_id: UUID, organisation_id: str | None, now: datetime) -> bool:
        """On the child's team at ``now``: its latest join or leave is a join (DESIGN §3: the
        team is the legitimate relationship). A join stamped after ``now`` does not count yet;
        a leave counts whatever its stamp, so a removal written by a host whose clock runs
        ahead still ends access everywhere at once (fail safe)."""
        _require_aware("now", now)
        if organisation_id is None:
            return False
        latest = None
        for change in self._team_by_member.get((_uuid(child_id), organisation_id), ()):
            if change.at > now and change.joined:
                continue
            latest = change
        return latest is not None and latest.joined

    def team_members(self, child_id: UUID, now: datetime) -> frozenset[str]:
        """Every organisation on the child's team at ``now``."""
        child_id = _uuid(child_id)
        return frozenset(org for (child, org) in self._team_by_member
                         if child == child_id and self.is_team_member(child_id, org, now))

    def safeguarding_ids_for(self, child_id: UUID) -> frozenset[UUID]:
        return self._grants_by_child.get(_uuid(child_id), frozenset())

    def safeguarding_versions(self, grant_id: UUID) -> frozenset[SafeguardingGrant]:
        return self._grants_by_id.get(_uuid(grant_id), frozenset())

    # -- used by decide ------------------------------------------------------------------

    def covering_consent(self, viewer: Viewer, entry: Entry, now: datetime) -> UUID | None:
        """The active consent that names the viewer's organisation or agency for the entry's
        category (lowest id when several), team membership aside: what a request addressed
        to an organisation not yet on the team needs before it may name it."""
        consents = self._permitting_consents(viewer, entry, now)
        return min(consents) if consents else None

    def _permitting_consents(self, viewer: Viewer, entry: Entry, now: datetime) -> list[UUID]:
        return [cid for cid in self.consent_ids_for(entry.child_id)
                if self.is_active(cid, now) and all(v.covers(viewer, entry) for v in self.consent_versions(cid))]

    def _permitting_grants(self, viewer: Viewer, entry: Entry, now: datetime) -> list[UUID]:
        return [gid for gid in self.safeguarding_ids_for(entry.child_id)
                if all(g.covers(viewer, entry, now) for g in self.safeguarding_versions(gid))]


_Contribution = tuple[set[ConsentRecord], set[UUID], set[UUID], set[SafeguardingGrant], set[TeamChange]]


def _contribution(envelope: Any) -> _Contribution:
    if isinstance(envelope, Event):
        # A bare payload has no subject (child): folding it would silently lose the fact.
        raise TypeError(f"fold envelopes, not bare {type(envelope).__name__} payloads: the child is the envelope's subject")
    data = getattr(envelope, "data", None)
    none: _Contribution = (set(), set(), set(), set(), set())
    if isinstance(data, ConsentGranted):
        return {ConsentRecord.from_event(envelope.subject, data)}, set(), set(), set(), set()
    if isinstance(data, ConsentWithdrawn):
        return set(), {data.consent_id}, set(), set(), set()
    if isinstance(data, ConsentExpired):
        return set(), set(), {data.consent_id}, set(), set()
    if isinstance(data, SafeguardingAccessGranted):
        return set(), set(), set(), {SafeguardingGrant.from_event(envelope.subject, data)}, set()
    team_change = _team_change(envelope, data)
    return (set(), set(), set(), set(), {team_change}) if team_change else none


def _team_change(envelope: Any, data: Any) -> TeamChange | None:
    if isinstance(data, ChildRegistered):
        organisation_id, joined = data.setting_organisation_id, True
    elif isinstance(data, TeamMemberJoined):
        organisation_id, joined = data.organisation_id, True
    elif isinstance(data, TeamMemberLeft):
        organisation_id, joined = data.organisation_id, False
    else:
        return None
    return TeamChange(event_id=_uuid(envelope.id), child_id=_uuid(envelope.subject), organisation_id=organisation_id,
                      joined=joined, at=envelope.time)


def _permit(basis: str, words: str) -> Decision:
    return Decision(True, basis, f"{basis.split(':', 1)[0]}: {words}")


def _deny(code: str, words: str) -> Decision:
    return Decision(False, None, f"{code}: {words}")


def decide(viewer: Viewer, entry: Entry, now: datetime, state: ConsentState) -> Decision:
    """DESIGN §3 rules, first match wins: parent > own > own request > safeguarding >
    team and consent > deny.

    When several safeguarding grants (or, failing those, several consents) permit, the basis
    is the one with the lowest id (UUID order), so every service names the same basis for the
    same state whatever order the events arrived in.
    """
    _require_aware("now", now)
    category = entry.category
    if category not in _CATEGORIES:
        return _deny(UNKNOWN_CATEGORY, f"{category!r} is not a category a parent can consent to")

    # Rule 1: a parent with parental responsibility sees everything about their child.
    if viewer.is_parent:
        if entry.child_id in viewer.children:
            return _permit(BASIS_PARENT, "parent with parental responsibility for the child")
        # A parent is not an organisation: rules 2-4 never apply to them.
        return _deny(NOT_PARENT_OF_CHILD, "the viewer does not hold parental responsibility for this child")

    # Rule 2: an organisation always sees its own records. A parent-authored entry (no
    # organisation) is nobody's "own".
    if entry.author_organisation_id is not None and entry.author_organisation_id == viewer.organisation_id:
        return _permit(BASIS_OWN, f"authored by the viewer's organisation {viewer.organisation_id}")

    # Rule 3: an answer to a request the organisation made (its referral accepted, declined,
    # withdrawn or closed; the advice it asked for) is part of its own work.
    if entry.answers_request_of is not None and entry.answers_request_of == viewer.organisation_id:
        return _permit(BASIS_OWN_REQUEST, f"answers a request made by the viewer's organisation {viewer.organisation_id}")

    # Rule 4: break-glass safeguarding access, unexpired, for this child and organisation.
    grants = state._permitting_grants(viewer, entry, now)
    if grants:
        grant_id = min(grants)
        return _permit(f"{_SAFEGUARDING}:{grant_id}", f"safeguarding access {grant_id} for organisation {viewer.organisation_id}")

    # Rule 5: on the child's team now, and an active consent naming the organisation or its
    # agency covers the category. Consent says who may see; the team says who does work with
    # the child — an agency-kind consent never reaches an organisation outside the team.
    consents = state._permitting_consents(viewer, entry, now)
    if consents:
        if not state.is_team_member(entry.child_id, viewer.organisation_id, now):
            return _deny(NOT_ON_TEAM, f"organisation {viewer.organisation_id} is not on this child's team")
        consent_id = min(consents)
        return _permit(f"{_CONSENT}:{consent_id}", f"consent {consent_id} covers {category}")

    # Rule 6: deny by default.
    return _deny(NO_ACTIVE_CONSENT, _why_no_consent(viewer, entry, now, state))


def _why_no_consent(viewer: Viewer, entry: Entry, now: datetime, state: ConsentState) -> str:
    """Words for the access record: which consents came closest and why they do not apply."""
    base = (f"no active consent for this child names organisation {viewer.organisation_id} "
            f"or agency {viewer.agency.value} for category {entry.category}")
    notes = []
    for cid in sorted(state.consent_ids_for(entry.child_id)):
        versions = state.consent_versions(cid)
        if not all(v.names(viewer) and entry.category in v.categories for v in versions):
            continue
        if cid in state.withdrawn:
            notes.append(f"{cid} withdrawn")
        elif cid in state.expired or any(now >= v.expires_at for v in versions):
            notes.append(f"{cid} expired")
        elif any(now < v.valid_from for v in versions):
            notes.append(f"{cid} not yet started")
    return base + (f" ({'; '.join(notes)})" if notes else "")
