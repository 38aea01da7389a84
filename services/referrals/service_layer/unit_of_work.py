"""One command, one transaction, on the common unit of work (services.common.unit_of_work):
state changes and the outbox rows of the events they cause are written together, and the relay
is woken only after the commit (STYLE 6). An event the decision folds (ChildRegistered,
TeamMemberJoined, TeamMemberLeft: FOLDED_TYPES) is also kept in this service's copy of the
decision's state in that same transaction (the factory's `on_emit`), so the next read sees the
team as the write left it, without waiting for the event to come back from the broker.

Handlers reach the store only through `uow.store` (a write) or `deps.reading()` (a read), so a
unit test swaps the whole store for an in-memory fake by overriding `Deps.transaction` and
`Deps.reading` (tests/unit/referrals/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session, sessionmaker

from schemas.envelope import Actor, Event
from services.common.clock import Clock, utc_now
from services.common.directory import Directory
from services.common.unit_of_work import UnitOfWorkFactory
from services.referrals.adapters import tables
from services.referrals.adapters.store import SqlStore
from services.referrals.domain.clock import WaitingTargets

SOURCE = "/tac/referrals"


def transactions_of(sessions: sessionmaker[Session], *, clock: Clock = utc_now, topic: str | None = None,
                    on_commit: Callable[[], None] = lambda: None) -> UnitOfWorkFactory:
    """The common unit-of-work factory on this service's outbox, processed-events table and
    consent copy (`topic`: None, the contract's; `on_commit`: what wakes the relay)."""
    return UnitOfWorkFactory(sessions, clock=clock, outbox=tables.outbox, processed=tables.processed_events,
                             source=SOURCE, topic=topic, on_emit=tables.consent_copy.record, on_commit=on_commit)


@dataclass
class Deps:
    """What the handlers need from the outside world; only bootstrap builds real ones."""

    sessions: sessionmaker[Session]
    clock: Clock = utc_now
    targets: WaitingTargets = field(default_factory=WaitingTargets)
    # How long a write that needs a consent waits for this service's copy of tac.consent.v1 to
    # catch up before refusing (0: refuse at once). See service_layer.consent_checks.
    consent_catch_up_s: float = 0.0
    # The organisation directory every organisation a request names is checked against.
    directory: Directory = field(default_factory=Directory.load)
    invitation_expiry_days: int = 14
    # The writes' transactions (bootstrap: transactions_of, waking the relay on commit).
    transactions: UnitOfWorkFactory | None = None
    # Blocks until the event of that id is on the topic, up to a bound; whether it is. The
    # service waits on the outbox (services.common.outbox.wait_published); tests without a
    # relay, not at all.
    await_published: Callable[[UUID], bool] = lambda _event_id: True

    def __post_init__(self) -> None:
        if self.transactions is None and self.sessions is not None:
            self.transactions = transactions_of(self.sessions, clock=self.clock)

    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc)

    def today(self) -> date:
        """Today as a UTC date: the day every due date and day count is measured against."""
        return self.now().date()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """The store of one unit of work, committed when the block ends without an error."""
        with self.transactions() as unit:
            yield SqlStore(unit.session, unit=unit)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """The store for a read: nothing it does is committed."""
        with self.sessions() as session:
            yield SqlStore(session)


class UnitOfWork:
    """A command's unit of work as its handler sees it: the store, the instant, and `emit`."""

    def __init__(self, deps: Deps, store: Any):
        self.deps = deps
        self.store = store
        self.now: datetime = store.now
        self.today = self.now.date()

    def emit(self, caller, child_id: UUID, payload: Event, *, event_id: UUID | None = None) -> UUID:
        """Queue one event in this transaction's outbox; `caller` is a Principal, or the Actor
        of something the service does on its own (an announcement)."""
        actor = caller if isinstance(caller, Actor) else caller.as_actor()
        return self.store.emit(actor, child_id, payload, event_id=event_id)


@contextmanager
def unit_of_work(deps: Deps) -> Iterator[UnitOfWork]:
    with deps.transaction() as store:
        yield UnitOfWork(deps, store)
