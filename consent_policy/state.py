"""The consent state: an immutable fold of the events the decision needs, per child.

``ConsentState`` folds the consent events on ``tac.consent.v1`` (ConsentGranted,
ConsentWithdrawn, ConsentExpired, SafeguardingAccessGranted) and the team events on
``tac.referrals.v1`` (ChildRegistered puts the child's setting on the team, TeamMemberJoined,
TeamMemberLeft): ``FOLDED_TYPES``. Every service that enforces the decision keeps its own copy
of those events (``consent_policy.store``) and folds them here. The fold is a union of sets, so
it is idempotent (a redelivered event changes nothing) and insensitive to arrival order (a
withdrawal that overtakes its grant still withdraws it: fail safe; team membership at a moment
is read from the latest join or leave at or before it, by event time).

A state also knows which children are *held* (``consent_policy.holds``: a message that may
restrict their access could not be applied): for a held child no consent is active and no
safeguarding grant permits, whatever was folded, until a person releases the hold (fail closed).

Pure: the contracts and the standard library only, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from consent_policy.records import (
    ConsentRecord, Entry, SafeguardingGrant, TeamChange, Viewer, as_uuid, require_aware,
)
from schemas.envelope import Event
from schemas.events.consent import ConsentExpired, ConsentGranted, ConsentWithdrawn, SafeguardingAccessGranted
from schemas.events.referrals import ChildRegistered, TeamMemberJoined, TeamMemberLeft

__all__ = ["FOLDED_TYPES", "ConsentState"]

# Every event type the state folds; a service enforcing the decision keeps these (and only
# these need keeping) in its copy of the state.
FOLDED_TYPES: frozenset[str] = frozenset(cls.TYPE for cls in (
    ConsentGranted, ConsentWithdrawn, ConsentExpired, SafeguardingAccessGranted,
    ChildRegistered, TeamMemberJoined, TeamMemberLeft,
))


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
    # Children whose copy is untrustworthy (consent_policy.holds); `held_everyone` when a hold
    # could not be tied to one child.
    held: frozenset[UUID] = frozenset()
    held_everyone: bool = False
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

    def with_holds(self, children: Iterable[Any], *, everyone: bool = False) -> "ConsentState":
        """The same state with these children held too (and every child, with `everyone`)."""
        held = self.held | frozenset(as_uuid(c) for c in children)
        everyone = self.held_everyone or everyone
        if held == self.held and everyone == self.held_everyone:
            return self
        return replace(self, held=held, held_everyone=everyone)

    # -- queries -------------------------------------------------------------------------

    def is_held(self, child_id: UUID) -> bool:
        """The child's consent-based access fails closed: see consent_policy.holds."""
        return self.held_everyone or as_uuid(child_id) in self.held

    def consent_ids_for(self, child_id: UUID) -> frozenset[UUID]:
        """Ids of every consent granted for the child, whatever its status."""
        return self._consents_by_child.get(as_uuid(child_id), frozenset())

    def consent_versions(self, consent_id: UUID) -> frozenset[ConsentRecord]:
        """What the grant(s) of ``consent_id`` said; empty when no grant has been seen."""
        return self._consents_by_id.get(as_uuid(consent_id), frozenset())

    def is_active(self, consent_id: UUID, now: datetime) -> bool:
        """Granted, started, not yet expired, never withdrawn and never declared expired.

        A withdrawal ends consent at once, whatever date it carries and in whatever order it
        arrived (DESIGN §3: "withdrawal is immediate"); a ConsentExpired ends it too.
        """
        require_aware("now", now)
        consent_id = as_uuid(consent_id)
        versions = self.consent_versions(consent_id)
        if any(self.is_held(v.child_id) for v in versions):
            return False  # the copy may miss this consent's withdrawal: fail closed
        return (bool(versions) and consent_id not in self.withdrawn and consent_id not in self.expired
                and all(v.in_period(now) for v in versions))

    def is_team_member(self, child_id: UUID, organisation_id: str | None, now: datetime) -> bool:
        """On the child's team at ``now``: its latest join or leave is a join (DESIGN §3: the
        team is the legitimate relationship). A join stamped after ``now`` does not count yet;
        a leave counts whatever its stamp, so a removal written by a host whose clock runs
        ahead still ends access everywhere at once (fail safe)."""
        require_aware("now", now)
        if organisation_id is None:
            return False
        latest = None
        for change in self._team_by_member.get((as_uuid(child_id), organisation_id), ()):
            if change.at > now and change.joined:
                continue
            latest = change
        return latest is not None and latest.joined

    def team_members(self, child_id: UUID, now: datetime) -> frozenset[str]:
        """Every organisation on the child's team at ``now``."""
        child_id = as_uuid(child_id)
        return frozenset(org for (child, org) in self._team_by_member
                         if child == child_id and self.is_team_member(child_id, org, now))

    def safeguarding_ids_for(self, child_id: UUID) -> frozenset[UUID]:
        return self._grants_by_child.get(as_uuid(child_id), frozenset())

    def safeguarding_versions(self, grant_id: UUID) -> frozenset[SafeguardingGrant]:
        return self._grants_by_id.get(as_uuid(grant_id), frozenset())

    # -- used by decide ------------------------------------------------------------------

    def covering_consent(self, viewer: Viewer, entry: Entry, now: datetime) -> UUID | None:
        """The active consent that names the viewer's organisation or agency for the entry's
        category (lowest id when several), team membership aside: what a request addressed
        to an organisation not yet on the team needs before it may name it."""
        consents = self.permitting_consents(viewer, entry, now)
        return min(consents) if consents else None

    def permitting_consents(self, viewer: Viewer, entry: Entry, now: datetime) -> list[UUID]:
        return [cid for cid in self.consent_ids_for(entry.child_id)
                if self.is_active(cid, now) and all(v.covers(viewer, entry) for v in self.consent_versions(cid))]

    def permitting_grants(self, viewer: Viewer, entry: Entry, now: datetime) -> list[UUID]:
        if self.is_held(entry.child_id):
            return []  # break-glass rests on the copy too: held, it fails closed
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
    return TeamChange(event_id=as_uuid(envelope.id), child_id=as_uuid(envelope.subject), organisation_id=organisation_id,
                      joined=joined, at=envelope.time)
