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

Tolerant reader (issue 14): an event of a type this build does not know (a newer producer's;
its envelope is the generic `EnvelopeBase`, `data` left as JSON) is claimed under a key derived
from its id (`placeholder_key`), never under the id itself: once the service is upgraded and the
event is read again (the group reset to its offset, or replayed), it is applied as the known
event it is, not skipped as a duplicate; while the unit of work applies it, `uow.replacing` says
that a placeholder of it was applied before (the timeline then replaces its placeholder entry).
It is handed to the table's `UnknownEvent` handlers, e.g. `UnknownEvent: [add_entry]`;
a table without that key skips it, counted in `tac_unknown_event_types_skipped_total` and
logged once per type. One exception, for safety: an unknown type read from the consent topic
may restrict access, so the bus also holds the child in the service's consent copy
(`MessageBus(..., consent_copy=...)`, consent_policy.holds): that child's consent-based access
fails closed until a person releases it. `BusSink.hold` records the holds the pipeline asks
for (a message on such a topic that can never be parsed).

A table whose handlers read the same things for every event (the notifications' consent copy
and subscribers) may give the bus `prepare(uow, envelopes)`: called once per unit of work with
the events about to be handled, it looks those things up in one go and leaves them on
`uow.prepared` for the handlers. The bus drops them (`uow.prepared = None`) when it places a
hold mid-batch, so a handler then reads the store again; handlers that write what was prepared
must refresh it themselves.

The consumer pipeline (services.common.pipeline) feeds batches in; `MessageBus.sink` binds a
bus to a service's unit-of-work factory as the pipeline's sink, with one unit of work per batch
or per `unit_events` events of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from hashlib import sha1
from uuid import UUID

from prometheus_client import Counter

from consent_policy.holds import UNKNOWN_TYPE, Hold, restricts_access
from schemas.catalogue import EVENT_TYPES
from schemas.envelope import EnvelopeBase, Event
from services.common.logging import bind_correlation_id
from services.common.unit_of_work import UnitOfWork, UnitOfWorkFactory, first_of_each

if TYPE_CHECKING:
    from consent_policy.store import ConsentCopy
    from schemas.topics import Topic
    from services.common.incoming import Incoming

log = logging.getLogger(__name__)


class UnknownEvent(Event):
    """The handler-table key for events of a type this build does not know (see the module
    docstring). Never instantiated: an unknown event's envelope carries its data as JSON."""

    TYPE = "(any type not in the catalogue)"


Handler = Callable[[EnvelopeBase, UnitOfWork], Any]
Handlers = Mapping[type[Event], Sequence[Handler]]

# Labels carry kinds only, never ids (a child id would be personal data in the monitoring system).
UNKNOWN_SKIPPED = Counter(
    "tac_unknown_event_types_skipped_total", "Events of a type this build does not know, skipped",
    ["service", "type"],
)
HOLDS_PLACED = Counter(
    "tac_consent_holds_placed_total",
    "Children whose consent-based access was closed: a message that may restrict access could not be applied",
    ["service", "why"],  # malformed | unknown_type
)
_UNKNOWN_LOGGED: set[tuple[str, str]] = set()


# A fixed namespace: the same unknown event maps to the same key in every service and run.
_PLACEHOLDER_NAMESPACE = UUID("5b0d6a52-3f57-4c4e-9d1b-7a0c2e1f9a61")


_PLACEHOLDER_PREFIX = _PLACEHOLDER_NAMESPACE.bytes


def placeholder_key(event_id: str) -> str:
    """The processed-events key under which an event of an unknown type is claimed, given
    its id as a string: uuid5(_PLACEHOLDER_NAMESPACE, event_id) (RFC 4122 §4.3) as a string,
    built from the SHA-1 digest directly (1.4 µs where uuid5 and str took 6). Keys already
    stored were made by uuid5: tests/unit/common/test_messagebus_keys.py holds the two equal."""
    digest = sha1(_PLACEHOLDER_PREFIX + event_id.encode()).hexdigest()
    # Version 5 in the 13th hex digit; the variant 10xx in the top bits of the 17th.
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


# What a newer producer's type must look like to be read as one (the catalogue's own naming:
# tac.<the topic's family>.<fact>.v<N>); anything else is malformed. The length bound keeps the
# stored type (entries, holds: 200) and the metric's `type` label bounded too.
_TYPE_PATTERN = re.compile(r"tac\.(referrals|consent|timeline|notifications|audit)\.[a-z0-9_]+\.v[0-9]+")
TYPE_MAX_CHARS = 120


def unknown_type_problem(event_type: str, source: "Topic | None") -> str | None:
    """Why an unknown type cannot be a newer producer's event read from `source` (None: fine):
    it must be named like the catalogue's types, and belong to the topic it came from."""
    match = _TYPE_PATTERN.fullmatch(event_type) if len(event_type) <= TYPE_MAX_CHARS else None
    if match is None:
        return (f"unknown event type {event_type[:TYPE_MAX_CHARS]!r} is not a TAC event type "
                f"(tac.<topic>.<fact>.v<N>, at most {TYPE_MAX_CHARS} characters)")
    family = source.name.split(".")[1] if source is not None else match.group(1)
    if match.group(1) != family:
        return f"unknown event type {event_type!r} does not belong to the topic it was read from ({source.name})"
    return None


def is_unknown(envelope: EnvelopeBase) -> bool:
    """A type this build's catalogue does not know: the pipeline hands on its generic envelope."""
    return envelope.type not in EVENT_TYPES


def record_holds(service: str, consent_copy: "ConsentCopy", session: Any, holds: Iterable[Hold]) -> int:
    """Record holds in a consent copy, in the caller's transaction; each new one is counted in
    tac_consent_holds_placed_total and logged at error level: the alert a person acts on with
    `tac holds list` / `tac holds release`."""
    placed = consent_copy.place_holds(session, holds)
    for hold in placed:
        HOLDS_PLACED.labels(service, hold.why).inc()
        log.error("CONSENT HOLD: consent-based access to child %s closed until a person releases it "
                  "(tac holds release): %s [%s %s/%s@%s]", hold.child_id or "(every child)", hold.reason,
                  hold.why, hold.topic, hold.partition, hold.offset)
    return len(placed)


def skipped_unknown(service: str, envelope: EnvelopeBase) -> None:
    """Count an event of an unknown type a service skips; log the first of each type."""
    # The label is bounded: a consumer lets through only types unknown_type_problem accepts.
    label = envelope.type if unknown_type_problem(envelope.type, None) is None else "(malformed)"
    UNKNOWN_SKIPPED.labels(service, label).inc()
    if (service, envelope.type) not in _UNKNOWN_LOGGED:
        _UNKNOWN_LOGGED.add((service, envelope.type))
        log.warning("skipping events of unknown type %s (a newer producer's?): this build has no handler; "
                    "counted in tac_unknown_event_types_skipped_total", envelope.type)


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


@dataclass(frozen=True)
class _Keyed:
    id: str  # the claim key: the event id, or placeholder_key of it for an unknown type
    placeholder: str | None  # for a known event, the key a placeholder of it was claimed under
    item: Any

    @classmethod
    def of(cls, item: EnvelopeBase | Consumed) -> "_Keyed":
        envelope = item.envelope if isinstance(item, Consumed) else item
        event_id = str(envelope.id)
        if is_unknown(envelope):
            return cls(placeholder_key(event_id), None, item)
        return cls(event_id, placeholder_key(event_id), item)


class MessageBus:
    """`service` names the service in metrics and alerts; `consent_copy` is the service's copy
    of the consent state, where holds are recorded (required to consume the consent topic)."""

    def __init__(self, handlers: Handlers, *, service: str = "unnamed",
                 consent_copy: "ConsentCopy | None" = None,
                 prepare: Callable[[UnitOfWork, Sequence[EnvelopeBase]], None] | None = None) -> None:
        for event_class in handlers:
            if not (isinstance(event_class, type) and issubclass(event_class, Event)):
                raise TypeError(f"handler table keys are event classes, not {event_class!r}")
        self._handlers = {cls: tuple(hs) for cls, hs in handlers.items()}
        self._unknown = self._handlers.get(UnknownEvent, (self._skip_unknown,))
        self.service = service
        self.consent_copy = consent_copy
        self.prepare = prepare

    def handlers_for(self, envelope: EnvelopeBase) -> tuple[Handler, ...]:
        if is_unknown(envelope):
            return self._unknown
        return self._handlers.get(type(envelope.data), ())

    def _skip_unknown(self, envelope: EnvelopeBase, uow: UnitOfWork) -> None:
        skipped_unknown(self.service, envelope)

    def place_holds(self, uow: UnitOfWork, holds: Iterable[Hold]) -> int:
        """Record holds in the service's consent copy, in `uow`'s transaction; each new one is
        counted and logged at error level (the alert a person acts on with `tac holds`)."""
        if self.consent_copy is None:
            raise RuntimeError(f"{self.service}: a consent hold is due but this bus has no consent_copy to hold in")
        placed = record_holds(self.service, self.consent_copy, uow.session, holds)
        if placed:
            uow.prepared = None  # what was looked up for the batch knows nothing of the hold
        return placed

    def _hold_if_restricting(self, envelope: EnvelopeBase, origin: "Incoming | None", uow: UnitOfWork) -> None:
        if origin is None or not restricts_access(origin.source, envelope.type, parsed=True):
            return
        self.place_holds(uow, [Hold(
            child_id=envelope.subject, why=UNKNOWN_TYPE, held_at=uow.now, event_type=envelope.type,
            reason=f"unknown event type {envelope.type!r} on {origin.topic}: this build cannot apply it",
            topic=origin.topic, partition=origin.partition, offset=origin.offset, event_id=envelope.id)])

    def apply(self, uow: UnitOfWork, batch: Sequence[EnvelopeBase | Consumed]) -> IngestResult:
        """Apply each event of `batch` at most once, in `uow`'s transaction."""
        keyed = [_Keyed.of(item) for item in batch]
        # Known events a placeholder was applied for, before this build knew their type: looked
        # up by the claim's own queries, in the same transaction.
        claimed, upgraded = uow.claim_keys((k.id for k in keyed),
                                           also_look_up=(k.placeholder for k in keyed if k.placeholder))
        fresh = first_of_each(keyed, claimed)
        if self.prepare is not None and fresh:
            self.prepare(uow, [k.item.envelope if isinstance(k.item, Consumed) else k.item for k in fresh])
        for keyed_item in fresh:
            item = keyed_item.item
            envelope, origin = (item.envelope, item.origin) if isinstance(item, Consumed) else (item, None)
            uow.consuming = origin
            uow.replacing = keyed_item.placeholder in upgraded
            if is_unknown(envelope):
                self._hold_if_restricting(envelope, origin, uow)
            self.handle(envelope, uow)
        uow.consuming, uow.replacing, uow.prepared = None, False, None
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

    def sink(self, transactions: UnitOfWorkFactory, *, unit_per_event: bool = False,
             unit_events: int | None = None) -> "BusSink":
        return BusSink(self, transactions, unit_per_event, unit_events)


@dataclass(frozen=True)
class BusSink:
    """The pipeline's sink: one batch, one unit of work; with `unit_events`, one unit per that
    many events of the batch, in order (for handlers that write a lot per event: each
    transaction, and so SQLite's write lock, stays bounded, and what a chunk caused is
    published as soon as it commits); `unit_per_event` is `unit_events=1`. After a failure the
    pipeline applies the batch again one by one; events of units already committed are then
    claimed, so they count as duplicates and do nothing twice."""

    bus: MessageBus
    transactions: UnitOfWorkFactory
    unit_per_event: bool = False
    unit_events: int | None = None

    def __post_init__(self) -> None:
        if self.unit_events is not None and self.unit_events < 1:
            raise ValueError("unit_events must be at least 1")

    @property
    def hold(self) -> Callable[[Sequence[Hold]], None] | None:
        """Records the holds the pipeline asks for, in one unit of work of their own; None when
        the bus has no consent copy to hold in (pipeline.subscriptions then refuses it for a
        topic whose messages may restrict access)."""
        return None if self.bus.consent_copy is None else self._record_holds

    def _record_holds(self, holds: Sequence[Hold]) -> None:
        with self.transactions() as uow:
            self.bus.place_holds(uow, holds)

    def ingest(self, batch: Sequence[EnvelopeBase | Consumed]) -> IngestResult:
        size = 1 if self.unit_per_event else self.unit_events
        if size is None or len(batch) <= size:
            with self.transactions() as uow:
                return self.bus.apply(uow, batch)
        stored = duplicates = 0
        for start in range(0, len(batch), size):
            with self.transactions() as uow:
                result = self.bus.apply(uow, batch[start:start + size])
            stored, duplicates = stored + result.stored, duplicates + result.duplicates
        return IngestResult(stored, duplicates)
