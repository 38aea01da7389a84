"""A service's event handlers as a table of contents, applied once per event id.

Each consuming service declares what it does with each event it consumes (the cosmicpython
message-bus shape):

    HANDLERS: Handlers = {
        ChildRegistered: [keep_consent_state, register_child, add_entry],
        ConcernRaised: [add_entry],
        ...
    }

A handler is `handler(envelope, uow)`: plain synchronous code writing through the unit of work
(services.common.unit_of_work), run in a worker thread. `MessageBus.apply(uow, batch)` claims
the batch's event ids (services.common.idempotency) and runs each new event's handlers in
order, all in the unit's one transaction; an event already applied, or repeated in the batch,
runs nothing. An event type with no entry is claimed and otherwise ignored. While an event is
handled, `uow.consuming` says where it was read from (None when applied directly, as tests do)
and logs carry its correlation id.

The consumer pipeline (services.common.pipeline) feeds batches in; `MessageBus.sink` binds a
bus to a service's unit-of-work factory as the pipeline's sink.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemas.envelope import EnvelopeBase, Event
from services.common.logging import bind_correlation_id
from services.common.unit_of_work import UnitOfWork, UnitOfWorkFactory, first_of_each

if TYPE_CHECKING:
    from services.common.pipeline import Incoming

Handler = Callable[[EnvelopeBase, UnitOfWork], Any]
Handlers = Mapping[type[Event], Sequence[Handler]]


@dataclass(frozen=True)
class IngestResult:
    stored: int  # events applied for the first time
    duplicates: int  # events already applied (or repeated in the batch): nothing done


@dataclass(frozen=True)
class Consumed:
    """An event as the pipeline hands it on: the envelope and the message it came in."""

    envelope: EnvelopeBase
    origin: "Incoming"

    @property
    def id(self):
        return self.envelope.id


class MessageBus:
    def __init__(self, handlers: Handlers) -> None:
        for event_class in handlers:
            if not (isinstance(event_class, type) and issubclass(event_class, Event)):
                raise TypeError(f"handler table keys are event classes, not {event_class!r}")
        self._handlers = {cls: tuple(hs) for cls, hs in handlers.items()}

    def handlers_for(self, envelope: EnvelopeBase) -> tuple[Handler, ...]:
        return self._handlers.get(type(envelope.data), ())

    def apply(self, uow: UnitOfWork, batch: Sequence[EnvelopeBase | Consumed]) -> IngestResult:
        """Apply each event of `batch` at most once, in `uow`'s transaction."""
        fresh = first_of_each(batch, uow.claim(item.id for item in batch))
        for item in fresh:
            envelope, origin = (item.envelope, item.origin) if isinstance(item, Consumed) else (item, None)
            uow.consuming = origin
            self.handle(envelope, uow)
        uow.consuming = None
        return IngestResult(len(fresh), len(batch) - len(fresh))

    def handle(self, envelope: EnvelopeBase, uow: UnitOfWork) -> int:
        """Run the event's handlers (already claimed); return the sum of what they report
        as a count (people notified, say), for a caller that wants it."""
        total = 0
        with bind_correlation_id(envelope.correlationid):
            for handler in self.handlers_for(envelope):
                reported = handler(envelope, uow)
                if isinstance(reported, int):
                    total += reported
        return total

    def sink(self, transactions: UnitOfWorkFactory, *, unit_per_event: bool = False) -> "BusSink":
        return BusSink(self, transactions, unit_per_event)


@dataclass(frozen=True)
class BusSink:
    """The pipeline's sink: one batch, one unit of work; or, with `unit_per_event`, one unit
    per event (for handlers that write a lot per event: each transaction, and so SQLite's
    write lock, stays short, and what one event caused is published as soon as it commits).
    After a failure the pipeline applies the batch again one by one; events already
    committed are then claimed, so they count as duplicates and do nothing twice."""

    bus: MessageBus
    transactions: UnitOfWorkFactory
    unit_per_event: bool = False

    def ingest(self, batch: Sequence[EnvelopeBase | Consumed]) -> IngestResult:
        if not self.unit_per_event:
            with self.transactions() as uow:
                return self.bus.apply(uow, batch)
        stored = duplicates = 0
        for item in batch:
            with self.transactions() as uow:
                result = self.bus.apply(uow, [item])
            stored, duplicates = stored + result.stored, duplicates + result.duplicates
        return IngestResult(stored, duplicates)
