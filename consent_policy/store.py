"""The consent-state copy: the one SQLAlchemy definition of the table in which a service that
enforces the decision keeps the events ``ConsentState`` folds, with the fold and the loaders.

Every enforcing service mounts it in its OWN database (DESIGN §4: services share code and
events, never data)::

    metadata = MetaData()
    consent_copy = ConsentCopy(metadata)        # defines the consent_events table
    consent_events = consent_copy.table         # for the service's own queries, if any

and then, inside the caller's transaction (nothing here commits):

* ``record(session, envelope)`` keeps one envelope of ``FOLDED_TYPES``, idempotently by event id;
  True when newly kept (False for a duplicate or a type the decision does not fold).
* ``record_many(session, envelopes)`` the same for a batch: one SELECT of the ids already kept
  (per CHUNK ids) and one INSERT of the rest.
* ``row(envelope)`` the row itself, for a caller that batches its own INSERTs of events it has
  claimed already (the timeline's ingest queues it on its unit of work).
* ``state_for(session, child_id)`` the child's ``ConsentState``, folded at read time.
* ``states_for(session, child_ids)`` the same for many children, the IN lists chunked at
  ``CHUNK`` ids; keyed by the ids as given.
* ``setting_of(session, child_id)`` the child's setting: the latest ChildRegistered kept, by
  event time.

and the copy's holds (``consent_policy.holds``: a message that may restrict access could not be
applied, so the child's consent-based access fails closed), in the table ``consent_holds``:

* ``place_holds(session, holds)`` records them; a message already holding (same topic,
  partition and offset: a redelivery) holds once. Returns the holds newly placed.
* ``open_holds(session)`` / ``release(session, child_id, by=, at=, force=)``: for the person
  resolving them (``tac holds``); a released hold stays, with who released it and when. An
  ``unknown_type`` hold is not released until its event is applied (``NotYetApplied``), unless
  forced.
* ``state_for``/``states_for`` mark the held children on the states they return.

Each service's Alembic history creates both tables (columns below, indexes
``ix_consent_events_child_id`` and ``ix_consent_holds_child_id``; ``create_holds_table`` is the
migration step that makes the holds table); the services' migration tests compare them with this
definition.

This module imports SQLAlchemy: it is an adapter, not part of the pure policy
(``consent_policy.decision`` and ``consent_policy.state`` never import it).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TypeVar

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text, bindparam, insert, null, or_, select,
    union_all, update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consent_policy.holds import UNKNOWN_TYPE, Hold
from consent_policy.state import FOLDED_TYPES, ConsentState
from schemas.catalogue import parse_event
from schemas.envelope import EnvelopeBase
from schemas.events.referrals import ChildRegistered

__all__ = ["CHUNK", "HOLDS_TABLE_NAME", "TABLE_NAME", "ConsentCopy", "NotYetApplied", "create_holds_table"]

TABLE_NAME = "consent_events"
HOLDS_TABLE_NAME = "consent_holds"
PROCESSED_TABLE = "processed_events"  # services.common.idempotency.TABLE_NAME (consent_policy imports no service code)

# How many ids go into one IN (...) list: far below every driver's parameter limit
# (PostgreSQL 65,535; SQLite 32,766).
CHUNK = 500

ChildKey = TypeVar("ChildKey", bound=Hashable)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ConsentCopy:
    """One service's copy of the consent state, mounted on that service's ``metadata``."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            TABLE_NAME, metadata,
            Column("event_id", String(36), primary_key=True),
            Column("child_id", String(36), nullable=False, index=True),
            Column("event_type", String(200), nullable=False),
            Column("envelope", Text, nullable=False),  # the whole envelope, folded at read time
            # When this copy learnt the event; for operators (how far behind a copy ran), never
            # read by the decision. NULL on rows kept before the column existed.
            Column("received_at", DateTime(timezone=True), nullable=True),
        )
        self.holds = Table(HOLDS_TABLE_NAME, metadata, *_hold_columns())
        # states_for's one statement, built once (the children bound at each read): the
        # timeline's consent-state read took 0.54-0.85 ms on SQLite against 1.14-1.43 built per
        # read, 1.37-1.48 on PostgreSQL against 2.00-2.25 (bench/results/read-parts-2026-12-03-*).
        children = bindparam("children", expanding=True)
        kept = select(self.table.c.child_id, self.table.c.envelope).where(self.table.c.child_id.in_(children))
        holding = select(self.holds.c.child_id, null().label("envelope")).where(
            self.holds.c.released_at.is_(None), or_(self.holds.c.child_id.is_(None), self.holds.c.child_id.in_(children)))
        # The kept events and the open holds in one statement: one round trip a read, not two
        # (a page of 100 on PostgreSQL spent ~1 ms in the second).
        self._kept_and_holding = union_all(kept, holding)

    # -- writing -------------------------------------------------------------------------

    def row(self, envelope: EnvelopeBase, *, received_at: datetime | None = None) -> dict[str, object]:
        """The row that keeps `envelope`, for a caller that batches its own INSERTs of events it
        has already claimed (the timeline's ingest); `record`/`record_many` otherwise."""
        return dict(event_id=str(envelope.id), child_id=str(envelope.subject), event_type=envelope.type,
                    envelope=envelope.to_json_bytes().decode(), received_at=received_at or _utcnow())

    def record(self, session: Session, envelope: EnvelopeBase, *, received_at: datetime | None = None) -> bool:
        return self.record_many(session, [envelope], received_at=received_at) == 1

    def record_many(self, session: Session, envelopes: Iterable[EnvelopeBase], *,
                    received_at: datetime | None = None) -> int:
        """Keep the envelopes of FOLDED_TYPES not kept before (the first of each id); how many."""
        first: dict[str, EnvelopeBase] = {}
        for envelope in envelopes:
            if envelope.type in FOLDED_TYPES:
                first.setdefault(str(envelope.id), envelope)
        if not first:
            return 0
        ids = list(first)
        for start in range(0, len(ids), CHUNK):
            known = session.execute(select(self.table.c.event_id)
                                    .where(self.table.c.event_id.in_(ids[start:start + CHUNK]))).scalars()
            for event_id in known:
                first.pop(event_id, None)
        if first:
            at = received_at or _utcnow()
            session.execute(insert(self.table), [self.row(e, received_at=at) for e in first.values()])
        return len(first)

    def place_holds(self, session: Session, holds: Iterable[Hold]) -> list[Hold]:
        """Record the holds not recorded before (by child and topic, partition and offset; else
        by child, event id and why); the new ones. One message may hold two children (its key
        and subject disagree: consent_policy.holds)."""
        new = []
        for hold in holds:
            if hold.topic is not None:
                same = (self.holds.c.topic == hold.topic, self.holds.c.partition == hold.partition,
                        self.holds.c.offset == hold.offset)
            elif hold.event_id is not None:
                same = (self.holds.c.event_id == str(hold.event_id), self.holds.c.why == hold.why)
            else:
                same = None
            child = self.holds.c.child_id.is_(None) if hold.child_id is None else self.holds.c.child_id == str(hold.child_id)
            if same is not None and session.execute(select(self.holds.c.hold_id).where(child, *same)).first() is not None:
                continue
            session.execute(insert(self.holds).values(
                event_id=None if hold.event_id is None else str(hold.event_id),
                hold_id=str(uuid4()), child_id=None if hold.child_id is None else str(hold.child_id), why=hold.why,
                reason=hold.reason[:2000], event_type=(hold.event_type or None) and hold.event_type[:200],
                topic=hold.topic, partition=hold.partition, offset=hold.offset, held_at=hold.held_at))
            new.append(hold)
        return new

    def open_holds(self, session: Session) -> list[dict[str, Any]]:
        """Every hold not yet released, oldest first (child_id None: every child is held)."""
        rows = session.execute(select(self.holds).where(self.holds.c.released_at.is_(None))
                               .order_by(self.holds.c.held_at, self.holds.c.hold_id)).mappings()
        return [dict(row) for row in rows]

    def release(self, session: Session, child_id: UUID | None, *, by: str, at: datetime,
                force: bool = False, hold_id: str | None = None) -> int:
        """Release the child's open holds (None: the holds on every child), or with `hold_id`
        that one hold only; how many. The rows stay, saying who released them and when.

        An ``unknown_type`` hold is released only once its event has been applied (its id is in
        this copy's ``consent_events`` or ``processed_events``: the service was upgraded and read
        it again); releasing it before would reopen access without the restriction the event may
        carry. ``NotYetApplied`` names the holds still waiting; ``force`` releases them anyway."""
        if not by.strip():
            raise ValueError("a release names the person who resolved the hold")
        if hold_id is not None:
            which = self.holds.c.hold_id == hold_id
        else:
            which = self.holds.c.child_id.is_(None) if child_id is None else self.holds.c.child_id == str(child_id)
        if not force:
            waiting = self.unapplied(session, [dict(r) for r in session.execute(select(self.holds).where(
                which, self.holds.c.released_at.is_(None))).mappings()])
            if waiting:
                raise NotYetApplied(waiting)
        done = session.execute(update(self.holds).where(which, self.holds.c.released_at.is_(None))
                               .values(released_at=at, released_by=by))
        return done.rowcount

    def unapplied(self, session: Session, holds: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The ``unknown_type`` holds among `holds` (rows of ``open_holds``) whose event this
        copy has not applied yet (without an event id: cannot be told, so not yet)."""
        waiting = []
        for hold in holds:
            if hold["why"] != UNKNOWN_TYPE:
                continue
            if hold["event_id"] is None or not self._applied(session, hold["event_id"]):
                waiting.append(hold)
        return waiting

    def _applied(self, session: Session, event_id: str) -> bool:
        if session.execute(select(self.table.c.event_id).where(self.table.c.event_id == event_id)).first():
            return True
        # A type the copy does not fold (e.g. a new consent-topic fact) is applied when claimed.
        processed = Table(PROCESSED_TABLE, MetaData(), Column("event_id", String(36)))
        try:
            with session.begin_nested():
                return session.execute(select(processed.c.event_id)
                                       .where(processed.c.event_id == event_id)).first() is not None
        except SQLAlchemyError:  # a database with no processed_events table
            return False

    # -- reading -------------------------------------------------------------------------

    def state_for(self, session: Session, child_id: Hashable) -> ConsentState:
        """The child's current consent state and team, folded from the kept events: nothing is
        cached, so a withdrawal or a leave applies to the very next read. The fold is
        order-insensitive, so the order rows come back in does not matter."""
        return self.states_for(session, [child_id])[child_id]

    def states_for(self, session: Session, child_ids: Sequence[ChildKey]) -> dict[ChildKey, ConsentState]:
        """Consent state per child (UUIDs or their strings: the answer is keyed by the ids as
        given), read CHUNK children at a time so no IN list grows with the store."""
        keys = {str(c): c for c in child_ids}
        found: dict[str, list[EnvelopeBase]] = {k: [] for k in keys}
        held: set[str] = set()
        everyone = False
        wanted = list(keys)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            for child_id, raw in session.execute(self._kept_and_holding, {"children": chunk}):
                if raw is not None:
                    found[child_id].append(parse_event(raw))
                elif child_id is None:
                    everyone = True
                else:
                    held.add(child_id)
        return {keys[k]: ConsentState.from_events(envelopes).with_holds([k] if k in held else [], everyone=everyone)
                for k, envelopes in found.items()}

    def setting_of(self, session: Session, child_id: Hashable) -> str | None:
        """The child's setting: the latest ChildRegistered kept for the child (by event time,
        then event id, so every copy names the same setting whatever the arrival order)."""
        rows = session.execute(select(self.table.c.envelope).where(
            self.table.c.child_id == str(child_id), self.table.c.event_type == ChildRegistered.TYPE)).scalars()
        registrations = sorted((parse_event(raw) for raw in rows), key=lambda e: (e.time, str(e.id)))
        return registrations[-1].data.setting_organisation_id if registrations else None


class NotYetApplied(Exception):
    """Releasing would reopen access before the events of these ``unknown_type`` holds were applied."""

    def __init__(self, holds: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(holds)} unknown-type hold(s) whose event is not applied yet")
        self.holds = holds


def _hold_columns() -> list[Column]:
    return [
        Column("hold_id", String(36), primary_key=True),
        # NULL: the message could not be tied to one child, so every child is held.
        Column("child_id", String(36), nullable=True, index=True),
        Column("why", String(32), nullable=False),  # consent_policy.holds: malformed | unknown_type
        Column("reason", Text, nullable=False),
        Column("event_type", String(200), nullable=True),
        # The unapplied event's id, when readable (an unknown_type hold is released once applied).
        Column("event_id", String(36), nullable=True),
        # Which message (NULL when applied directly): a redelivery holds once.
        Column("topic", String(249), nullable=True),
        Column("partition", Integer, nullable=True),
        Column("offset", BigInteger, nullable=True),
        Column("held_at", DateTime(timezone=True), nullable=False),
        Column("released_at", DateTime(timezone=True), nullable=True),
        Column("released_by", String(128), nullable=True),
    ]


def create_holds_table(op: Any) -> None:
    """The Alembic step that makes the holds table as defined here (each enforcing service's
    migration calls it, so the four databases cannot drift apart)."""
    op.create_table(HOLDS_TABLE_NAME, *_hold_columns())  # with its index ix_consent_holds_child_id
