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

Each service's Alembic history creates the table (columns below, index
``ix_consent_events_child_id``); the services' migration tests compare it with this definition.

This module imports SQLAlchemy: it is an adapter, not part of the pure policy
(``consent_policy.decision`` and ``consent_policy.state`` never import it).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert, select
from sqlalchemy.orm import Session

from consent_policy.state import FOLDED_TYPES, ConsentState
from schemas.catalogue import parse_event
from schemas.envelope import EnvelopeBase
from schemas.events.referrals import ChildRegistered

__all__ = ["CHUNK", "TABLE_NAME", "ConsentCopy"]

TABLE_NAME = "consent_events"

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
        wanted = list(keys)
        for start in range(0, len(wanted), CHUNK):
            rows = session.execute(select(self.table.c.child_id, self.table.c.envelope)
                                   .where(self.table.c.child_id.in_(wanted[start:start + CHUNK])))
            for child_id, raw in rows:
                found[child_id].append(parse_event(raw))
        return {keys[k]: ConsentState.from_events(envelopes) for k, envelopes in found.items()}

    def setting_of(self, session: Session, child_id: Hashable) -> str | None:
        """The child's setting: the latest ChildRegistered kept for the child (by event time,
        then event id, so every copy names the same setting whatever the arrival order)."""
        rows = session.execute(select(self.table.c.envelope).where(
            self.table.c.child_id == str(child_id), self.table.c.event_type == ChildRegistered.TYPE)).scalars()
        registrations = sorted((parse_event(raw) for raw in rows), key=lambda e: (e.time, str(e.id)))
        return registrations[-1].data.setting_organisation_id if registrations else None
