"""What the consent service's handlers need from the outside world, and nothing more.

`Deps` names the dependencies a handler takes as its first parameter; `deps.begin()` opens a
unit of work — one transaction holding the state change and the outbox row of the one event
it causes, after whose commit the relay is woken (STYLE 6), so an event is never published for
a change that rolled back — and `deps.read()` a read without a write transaction.

`UnitOfWork` is the port: services.consent.adapters.unit_of_work implements it on the shared
unit of work (services.common.unit_of_work: one transaction, the outbox, claims of consumed
event ids) and this service's store; tests/unit/consent/fakes.py in memory (the handlers' unit
tests). The clock is the shared one (services.common.clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol
from uuid import UUID

from sqlalchemy.orm import Session, sessionmaker

from consent_policy.holds import Hold
from schemas.envelope import Actor, EnvelopeBase, Event
from services.common.clock import Clock, utc_now
from services.common.directory import Directory
from services.consent import domain
from services.consent.adapters.unit_of_work import sql_unit_of_work
from services.consent.domain import Consent, Notice, SafeguardingAccess, StoredConsent


class UnitOfWork(Protocol):
    now: datetime

    # -- the copy of each child's setting and team (tac.referrals.v1)
    def claim(self, event_id: UUID) -> bool: ...
    def keep_state_event(self, envelope: EnvelopeBase) -> None: ...
    def hold(self, holds: Sequence[Hold]) -> int: ...
    def record_child_setting(self, child_id: UUID, setting_organisation_id: str, event_id: UUID) -> None: ...
    def relationship(self, child_id: UUID) -> domain.Relationship: ...

    # -- consents
    def add_consent(self, consent: Consent, granted_event_id: UUID) -> None: ...
    def record_withdrawal(self, consent: Consent, event_id: UUID) -> bool: ...
    def get_consent(self, consent_id: UUID) -> StoredConsent | None: ...
    def consents_of_child(self, child_id: UUID) -> list[StoredConsent]: ...
    def consents_needing_notice(self, limit: int) -> list[Consent]: ...
    def record_notice(self, consent_id: UUID, notice: Notice, event_id: UUID) -> None:
        """Raises domain.NoticeAlreadyEmitted when the notice was emitted already."""

    # -- safeguarding
    def add_safeguarding_access(self, access: SafeguardingAccess, event_id: UUID) -> None: ...
    def safeguarding_access_of(self, child_id: UUID,
                               organisation_id: str | None) -> list[tuple[SafeguardingAccess, str]]: ...

    # -- the outbox
    def emit(self, actor: Actor, child_id: UUID, payload: Event) -> UUID: ...


# How a unit of work is opened on `deps`: `write` True for a transaction that may emit events.
UnitsOfWork = Callable[["Deps", bool], AbstractContextManager[UnitOfWork]]


@dataclass
class Deps:
    sessions: sessionmaker[Session] | None = None
    clock: Clock = utc_now
    consent_topic: str | None = None  # None: the contract's topic (tests use fresh ones)
    on_commit: Callable[[], None] = lambda: None
    # The organisation directory: recipients are checked against it, answers carry names.
    directory: Directory = Directory.of()
    max_consent_months: int = domain.MAX_CONSENT_MONTHS
    # The SQL unit of work on `sessions` unless another is given (the unit tests' in-memory fake).
    units: UnitsOfWork = sql_unit_of_work
    # Blocks until the event of that id is on the topic, up to a bound; whether it is. The
    # service waits on the outbox (services.common.outbox.wait_published); the fake, not at all.
    await_published: Callable[[UUID], bool] = lambda _event_id: True

    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc)

    @contextmanager
    def begin(self) -> Iterator[UnitOfWork]:
        """One write transaction; the relay is woken after it commits."""
        with self.units(self, True) as uow:
            yield uow
        self.on_commit()

    def read(self) -> AbstractContextManager[UnitOfWork]:
        return self.units(self, False)

    def summary(self, organisation_id: str | None) -> dict | None:
        """How an answer names an organisation: id, display name and agency (name and agency
        None for an id the directory no longer holds)."""
        if organisation_id is None:
            return None
        org = self.directory.get(organisation_id)
        return org.summary() if org else {"organisation_id": organisation_id, "name": None, "agency": None}
