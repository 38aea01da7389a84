"""One command, one transaction: state changes and the outbox rows of the events they cause
are written together, and the relay is woken only after the commit (STYLE 6). An event the
decision folds (ChildRegistered, TeamMemberJoined, TeamMemberLeft: FOLDED_TYPES) is also kept
in this service's copy of the decision's state in that same transaction, so the next read sees
the team as the write left it, without waiting for the event to come back from the broker.

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

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, Event
from services.common.directory import Directory
from services.common.logging import get_correlation_id
from consent_policy.state import FOLDED_TYPES
from services.referrals.adapters.store import SqlStore
from services.referrals.domain.clock import WaitingTargets

SOURCE = "/tac/referrals"


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Deps:
    """What the handlers need from the outside world; only bootstrap builds real ones."""

    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = system_clock
    targets: WaitingTargets = field(default_factory=WaitingTargets)
    referrals_topic: str | None = None  # None: the contract's topic
    on_commit: Callable[[], None] = lambda: None
    # How long a write that needs a consent waits for this service's copy of tac.consent.v1 to
    # catch up before refusing (0: refuse at once). See service_layer.consent_checks.
    consent_catch_up_s: float = 0.0
    # The organisation directory every organisation a request names is checked against.
    directory: Directory = field(default_factory=Directory.load)
    invitation_expiry_days: int = 14

    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc)

    def today(self) -> date:
        """Today as a UTC date: the day every due date and day count is measured against."""
        return self.now().date()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """The store of one transaction, committed when the block ends without an error."""
        with self.sessions.begin() as session:
            yield SqlStore(session)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """The store for a read: nothing it does is committed."""
        with self.sessions() as session:
            yield SqlStore(session)


class UnitOfWork:
    def __init__(self, deps: Deps, store: Any):
        self.deps = deps
        self.store = store
        self.now = deps.now()
        self.today = self.now.date()
        self.emitted: list[UUID] = []

    def emit(self, caller, child_id: UUID, payload: Event, *, event_id: UUID | None = None) -> UUID:
        """Queue one event in this transaction's outbox; `caller` is a Principal, or the Actor
        of something the service does on its own (an announcement)."""
        actor = caller if isinstance(caller, Actor) else caller.as_actor()
        envelope = make_envelope(
            payload, subject=child_id, actor=actor, source=SOURCE,
            correlationid=get_correlation_id(), event_id=event_id, time=self.now,
        )
        self.store.add_to_outbox(envelope, self.deps.referrals_topic)
        if envelope.type in FOLDED_TYPES:
            self.store.store_consent_event(envelope)
        self.emitted.append(envelope.id)
        return envelope.id


@contextmanager
def unit_of_work(deps: Deps) -> Iterator[UnitOfWork]:
    with deps.transaction() as store:
        yield UnitOfWork(deps, store)
    deps.on_commit()
