"""One command (or one consumed batch), one transaction: the state it changes, the outbox rows
of the events it causes and the claims of the events it consumed commit together or not at all.

A service builds one `UnitOfWorkFactory` in its bootstrap and hands it to its handlers:

    transactions = UnitOfWorkFactory(sessions, clock=clock, outbox=store.outbox,
                                     processed=store.processed_events, source="/tac/<service>")
    with transactions() as uow:                # BEGIN
        uow.session.execute(...)               # the service's own state
        uow.emit(actor, child_id, SomethingHappened(...))   # its event, in the outbox
    # COMMIT, then `on_commit` (bootstrap points it at the outbox relay's `notify`)

`uow.now` is read once from the service's clock (services.common.clock). `on_emit` lets a
service keep an event it emits in its own copy of state in the same transaction (the consent
copy of the events the decision folds). `add_row` queues a row for one bulk INSERT at the end
of the unit (or before the session is next used), which keeps a consumer's batch as fast as a
hand-written bulk insert while its handlers still handle one event at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, Event
from services.common.bulk_insert import insert_rows
from services.common.clock import Clock, utc_now
from services.common.idempotency import claim_events, claim_keys
from services.common.logging import get_correlation_id
from services.common.outbox import add_to_outbox


@dataclass
class UnitOfWorkFactory:
    """Everything a unit of work needs from the service; only bootstrap builds a real one."""

    sessions: sessionmaker[Session]
    clock: Clock = utc_now
    outbox: Table | None = None  # the service's outbox table, if it publishes
    processed: Table | None = None  # its processed-events table, if it consumes
    source: str = "/tac"  # the CloudEvents `source` of what it emits
    topic: str | None = None  # outbox topic override (tests publish to fresh topics); None: the contract's
    on_emit: Callable[[Session, EnvelopeBase], None] | None = None
    on_commit: Callable[[], None] = field(default=lambda: None)

    @contextmanager
    def __call__(self) -> Iterator["UnitOfWork"]:
        with self.sessions.begin() as session:
            uow = UnitOfWork(self, session)
            yield uow
            uow.flush()
        self.on_commit()

    def joining(self, session: Session) -> "UnitOfWork":
        """A unit inside a transaction the caller owns (it commits, and nothing is woken)."""
        return UnitOfWork(self, session)


class UnitOfWork:
    def __init__(self, factory: UnitOfWorkFactory, session: Session) -> None:
        self._factory = factory
        self._session = session
        self._pending: dict[Table, list[dict[str, Any]]] = {}
        self.now: datetime = factory.clock().astimezone(timezone.utc)
        self.emitted: list[UUID] = []
        # While a consumed event is handled: the message it came in (services.common.pipeline).
        self.consuming: Any = None
        # While a consumed event is handled: True when a placeholder of it (applied while its
        # type was unknown, services.common.messagebus) was applied before; its handlers replace it.
        self.replacing: bool = False
        # What the message bus's `prepare` looked up for the batch being applied (None: nothing;
        # services.common.messagebus): the handlers' own business.
        self.prepared: Any = None

    @property
    def today(self) -> date:
        """Today as a UTC date."""
        return self.now.date()

    @property
    def session(self) -> Session:
        """The transaction's session; queued rows are written first, so a read sees them."""
        self.flush()
        return self._session

    def add_row(self, table: Table, row: dict[str, Any]) -> None:
        """Queue an INSERT; queued rows go in one statement per table, in the order queued."""
        self._pending.setdefault(table, []).append(row)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for table, rows in pending.items():
            insert_rows(self._session, table, rows)

    def claim(self, event_ids: Iterable[UUID]) -> set[UUID]:
        """The ids consumed for the first time, now recorded (services.common.idempotency)."""
        return claim_events(self.session, self._processed(), event_ids)

    def claim_keys(self, keys: Iterable[str], *, also_look_up: Iterable[str] = ()) -> tuple[list[str], set[str]]:
        """The keys consumed for the first time, now recorded, and which of `also_look_up` are
        claimed (services.common.idempotency.claim_keys)."""
        return claim_keys(self.session, self._processed(), keys, also_look_up=also_look_up)

    def _processed(self) -> Table:
        if self._factory.processed is None:
            raise RuntimeError("this service keeps no processed-events table")
        return self._factory.processed

    def publish(self, envelope: EnvelopeBase, *, topic: str | None = None) -> UUID:
        """Queue `envelope` in the outbox, to be published once this unit commits."""
        if self._factory.outbox is None:
            raise RuntimeError("this service keeps no outbox")
        add_to_outbox(self.session, self._factory.outbox, envelope, topic=topic or self._factory.topic)
        if self._factory.on_emit is not None:
            self._factory.on_emit(self.session, envelope)
        self.emitted.append(envelope.id)
        return envelope.id

    def emit(self, actor: Actor, child_id: UUID, payload: Event, *, event_id: UUID | None = None,
             causationid: str | None = None, topic: str | None = None) -> UUID:
        """An event of this service about `child_id`, made now and queued in the outbox; it
        carries the correlation id of the request (or consumed event) being handled."""
        envelope = make_envelope(payload, subject=child_id, actor=actor, source=self._factory.source,
                                 correlationid=get_correlation_id(), causationid=causationid, event_id=event_id,
                                 time=self.now)
        return self.publish(envelope, topic=topic)


def first_of_each(envelopes: Sequence[Any], fresh: Iterable[Hashable]) -> list[Any]:
    """The items (each with an `id`) whose id is in `fresh`, first occurrence only, in order."""
    left, first = set(fresh), []
    for item in envelopes:
        if item.id in left:
            left.discard(item.id)
            first.append(item)
    return first
