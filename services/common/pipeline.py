"""The one consumer pipeline: raw messages in, each event applied once or parked, acked after.

    parse -> check the event belongs on the topic it came from -> apply the batch once, by event
    id, in one transaction -> retry what is transient -> dead-letter what is not

used alike by the Faust agents (services.common.streams.add_batch_agent) and the plain aiokafka
consumers (services.common.batch_consumer.BatchConsumer). A service supplies two things:

* a sink with `ingest(batch) -> IngestResult`, normally its handler table bound to its unit of
  work (`MessageBus(HANDLERS).sink(transactions)`, services.common.messagebus): synchronous
  sinks run in a worker thread, async ones (`async def ingest`) are awaited;
* a dead-letter callable `(Incoming, reason)`, normally services.common.kafka.dead_letter_to.

A tolerant reader (issue 14): unknown fields are dropped, and an event of a type this build does
not know is handed on like any other (its generic envelope), for the handler table to store or
skip (services.common.messagebus). A message that can never be parsed is parked; and when it may
have restricted access (consent_policy.holds: anything on the consent topic, a team event on the
referrals topic) the sink's `hold(holds)` first records a hold on the child, so the service's
consent-based access for that child fails closed until a person releases it.

`BatchIngestor.ingest(messages)` never raises (except on cancellation): an invalid or misrouted
message is parked with the reason; a batch whose sink fails transiently (the database is away)
is retried as it is until it goes through; a batch that fails otherwise is applied one event at
a time, so only an event that keeps failing (`permanent_attempts` times) is parked. It returns
only when every message is applied or parked, so the caller acks the batch only afterwards; a
crash before that redelivers it, and the claimed event ids make the replay a no-op.

A consent event (or a team event the decision folds) is never parked for failing to apply
(services.common.consent_hold says why): it is retried with capped backoff until it applies,
and its partition's later events wait behind it, while `consent_apply_stuck_seconds` rises.
`ingest_holding` applies what it can and hands back, per partition, what such an event holds
up, so a caller can go on with the other partitions and finish the held ones with
`apply_held` on the side (services.common.lanes); `ingest` does both before returning.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Protocol

from consent_policy.holds import MALFORMED, Hold, held_children, readable_type, restricts_access
from schemas.catalogue import InvalidEvent, UnknownEventType, topic_of
from schemas.kafka_binding import parse_kafka_message
from schemas.envelope import EnvelopeBase, now_utc
from schemas.topics import CONSENT, REFERRALS, Topic
from services.common.consent_hold import PartitionKey, StuckPartitions, holds_partition, partition_of
from services.common.messagebus import Consumed, IngestResult, unknown_type_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    """One raw message as consumed, with where it came from (for the dead-letter record)."""

    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    # The contract topic this subscription carries (the topic's name may differ, in tests):
    # an event of another topic's contract is refused. None: not checked.
    source: Topic | None = None
    # The Kafka headers: a binary-mode CloudEvent (schemas.kafka_binding) carries its attributes there.
    headers: tuple[tuple[str, bytes], ...] = ()


def misrouted_reason(source: Topic, event_type: str) -> str | None:
    """Why an otherwise valid event does not belong on the topic it came from, or None.

    A valid event on the wrong topic (a consent fact on the referrals topic, TimelineViewed on
    tac.referrals.v1) did not come from the service that owns it: applying it could grant
    access nobody gave, so it goes to the dead-letter topic rather than being applied."""
    belongs = topic_of(event_type)
    if belongs.name == source.name:
        return None
    short = source.name.split(".")[1] if source.name.count(".") >= 2 else source.name
    return f"event type {event_type} belongs on {belongs.name}: it does not belong on the {short} topic"


@dataclass(frozen=True)
class Poison:
    """A message to park, with why; `holds` when parking it must also hold children (it may have
    restricted access: consent_policy.holds)."""

    message: Incoming
    reason: str
    holds: tuple[Hold, ...] = ()


@dataclass
class Parsed:
    valid: list[tuple[Incoming, EnvelopeBase]] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)


def parse_batch(messages: Sequence[Incoming]) -> Parsed:
    """Validate raw bytes with the pydantic contracts, as a tolerant reader of structured- or
    binary-mode CloudEvents (schemas.kafka_binding). A well-formed event of a type this build does
    not know is valid (its generic envelope: what every event carries), accepted on the topic it
    came from since its topic cannot be checked; what cannot be parsed or is misrouted becomes
    Poison with a reason a person can act on, and a hold when it may have restricted access."""
    parsed = Parsed()
    for message in messages:
        if not message.value:
            parsed.poison.append(malformed(message, "empty message value"))
            continue
        try:
            envelope = parse_kafka_message(message.value, message.headers)
        except UnknownEventType as exc:
            problem = unknown_type_problem(exc.envelope.type, message.source)
            if problem is None:
                parsed.valid.append((message, exc.envelope))
            else:  # not a newer producer's event: malformed (and held, on the consent topic)
                parsed.poison.append(malformed(message, problem))
            continue
        except InvalidEvent as exc:
            parsed.poison.append(malformed(message, exc.reason))
            continue
        reason = None if message.source is None else misrouted_reason(message.source, envelope.type)
        if reason is not None:
            # A valid event of another topic's contract: nothing this topic carries was lost, so no hold.
            parsed.poison.append(Poison(message, reason))
            continue
        parsed.valid.append((message, envelope))
    return parsed


def malformed(message: Incoming, reason: str) -> Poison:
    """A message that can never be parsed, to park; with the hold it calls for, if any."""
    event_type = readable_type(message.value, message.headers)
    if not restricts_access(message.source, event_type, parsed=False):
        return Poison(message, reason)
    at = now_utc()
    return Poison(message, reason, tuple(
        Hold(child_id=child, why=MALFORMED, reason=reason, held_at=at, topic=message.topic,
             partition=message.partition, offset=message.offset, event_type=event_type)
        for child in held_children(message.key, message.value, message.headers)))


def subscriptions(topics: Mapping[str, Topic | None], sink: "Sink") -> dict[str, Topic]:
    """Check a consumer's subscriptions before it starts: every topic name must map to the
    contract topic it carries (a topic name with no contract would silently switch off the
    misrouting check and the consent holds: `Incoming.source` None); and a consumer of a topic
    whose messages may restrict access (consent_policy.holds: the consent and referrals topics)
    must be able to record holds (`sink.hold` not None), or a message it cannot apply would be
    parked and acked with the child's access left open."""
    unmapped = sorted(name for name, topic in topics.items() if topic is None)
    if unmapped:
        raise ValueError(f"no contract topic for {', '.join(unmapped)}: map each subscribed topic name to the "
                         "contract topic it carries, e.g. {settings.consent_topic: topics.CONSENT}")
    may_restrict = sorted(name for name, topic in topics.items() if topic.name in _MAY_RESTRICT)
    if may_restrict and getattr(sink, "hold", None) is None:
        raise TypeError(f"a consumer of {', '.join(may_restrict)} must record consent holds (fail closed): "
                        "give it a sink with hold() (a MessageBus with consent_copy=) or hold=")
    return dict(topics)  # type: ignore[arg-type]  # no None left


_MAY_RESTRICT = frozenset({CONSENT.name, REFERRALS.name})


class Sink(Protocol):
    def ingest(self, batch: Sequence[Consumed]) -> IngestResult | Awaitable[IngestResult]: ...

    # Optional: `hold(holds) -> None` (sync or async) records holds in the service's consent
    # copy (services.common.messagebus.BusSink.hold); a sink without it cannot fail closed.


DeadLetter = Callable[[Incoming, str], Awaitable[None]]


@dataclass
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0


# Per partition, the events a consent event that would not apply holds up: itself first, then
# every later event of its partition in the batch, in order.
Held = dict[PartitionKey, list[Consumed]]


@dataclass(frozen=True)
class Progress:
    """What one call did: its own counts (calls may run side by side) and what it held back."""

    stats: IngestStats
    held: Held


def never_transient(_: BaseException) -> bool:
    return False


@dataclass(eq=False)
class BatchIngestor:
    """Applies a batch once, or parks what cannot be applied; see the module docstring."""

    sink: Sink
    dead_letter: DeadLetter
    _: KW_ONLY
    is_transient: Callable[[BaseException], bool] = never_transient
    permanent_attempts: int = 3
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    # Names this consumer in `consent_apply_stuck_seconds` and in the stuck log lines.
    consumer: str = "consumer"
    stats: IngestStats = field(default_factory=IngestStats, init=False)
    stuck: StuckPartitions = field(init=False)

    def __post_init__(self) -> None:
        self.stuck = StuckPartitions(self.consumer)

    @property
    def applied(self) -> int:
        """Events applied, or found already applied."""
        return self.stats.stored + self.stats.duplicates

    async def ingest(self, messages: Sequence[Incoming]) -> IngestStats:
        """Every message applied or parked; a held partition is finished beside the others."""
        progress = await self.ingest_holding(messages)
        held = await asyncio.gather(*(self.apply_held(items) for items in progress.held.values()))
        return _sum([progress.stats, *held])

    async def ingest_holding(self, messages: Sequence[Incoming]) -> Progress:
        """Apply or park every message, except what a consent event that would not apply holds
        up on its partition: that is returned (`Progress.held`), for `apply_held`."""
        tally = IngestStats(batches=1)
        parsed = await asyncio.to_thread(parse_batch, messages)
        await self._hold([hold for p in parsed.poison for hold in p.holds])
        held: Held = {}
        if parsed.valid:
            held = await self._apply_all([Consumed(envelope, message) for message, envelope in parsed.valid], tally,
                                         hold=True)
        for poison in parsed.poison:
            await self._park(poison.message, poison.reason, tally)
        self.stats.batches += 1
        return Progress(tally, held)

    async def apply_held(self, items: Sequence[Consumed]) -> IngestStats:
        """Apply one partition's held events in order, each consent event retried until it
        applies: returns only once all are applied or parked (or when cancelled)."""
        tally = IngestStats()
        await self._apply_all(list(items), tally, hold=False)
        return tally

    async def _apply_all(self, batch: list[Consumed], tally: IngestStats, *, hold: bool) -> Held:
        try:
            self._count(await self._with_transient_retries(batch), tally)
            return {}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad event must not hold up the batch
            log.warning("batch of %d failed (%r); applying one by one", len(batch), exc)
        # One event at a time, so only an event that cannot be applied is parked (or held).
        held: Held = {}
        for item in batch:
            key = partition_of(item.origin)
            if key in held:  # behind a held consent event: applying it first could leak
                held[key].append(item)
            elif holds_partition(item):
                if not hold:
                    await self._until_applied(item, tally)
                elif not await self._applied_once(item, tally):
                    held[key] = [item]  # the gauge counts from when apply_held starts retrying it
            else:
                await self._apply_or_park(item, tally)
        return held

    async def _apply_or_park(self, item: Consumed, tally: IngestStats) -> None:
        for attempt in range(1, self.permanent_attempts + 1):
            try:
                self._count(await self._with_transient_retries([item]), tally)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                if attempt == self.permanent_attempts:
                    await self._park(item.origin, f"could not be stored after {attempt} attempts: {exc!r}", tally)
                else:
                    await asyncio.sleep(self.initial_backoff_s * attempt)

    async def _applied_once(self, item: Consumed, tally: IngestStats) -> bool:
        try:
            self._count(await self._with_transient_retries([item]), tally)
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - held, and retried by apply_held
            self._log_stuck(logging.WARNING, item, exc, attempts=1, retry_in_s=self.initial_backoff_s)
            return False

    async def _until_applied(self, item: Consumed, tally: IngestStats) -> None:
        """Retry a consent event with capped exponential backoff until it applies: never parked.
        Its partition counts as stuck (the gauge) until then."""
        key = partition_of(item.origin)
        delay = self.initial_backoff_s
        attempts = 0
        self.stuck.hold(key)
        try:
            while True:
                try:
                    self._count(await self._with_transient_retries([item]), tally)
                    if attempts:
                        log.warning("consent_apply_recovered", extra=self._where(item) | {"attempts": attempts + 1})
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retried: a consent event is never parked
                    attempts += 1
                    # Every retry once the backoff has reached its cap: a line per `max_backoff_s`
                    # to alert on, loud enough to wake someone.
                    level = logging.ERROR if delay >= self.max_backoff_s else logging.WARNING
                    self._log_stuck(level, item, exc, attempts=attempts, retry_in_s=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_backoff_s)
        finally:
            self.stuck.release(key)

    def _log_stuck(self, level: int, item: Consumed, exc: BaseException, *, attempts: int, retry_in_s: float) -> None:
        key = partition_of(item.origin)
        log.log(level, "consent_apply_stuck", extra=self._where(item) | {
            "error": repr(exc), "attempts": attempts, "retry_in_s": round(retry_in_s, 3),
            "stuck_s": round(self.stuck.seconds(key), 3),
        })

    def _where(self, item: Consumed) -> dict[str, object]:
        origin = item.origin
        return {"consumer": self.consumer, "event_id": str(item.envelope.id), "event_type": item.envelope.type,
                "topic": origin.topic, "partition": origin.partition, "offset": origin.offset}

    async def _with_transient_retries(self, batch: list[Consumed]) -> IngestResult:
        """Retry while the store is unavailable: the stream waits, nothing is lost."""
        delay = self.initial_backoff_s
        while True:
            try:
                if inspect.iscoroutinefunction(self.sink.ingest):
                    return await self.sink.ingest(batch)
                return await asyncio.to_thread(self.sink.ingest, batch)
            except Exception as exc:
                if not self.is_transient(exc):
                    raise
                log.warning("store unavailable (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    # -- poison: holds, then the dead-letter topic (kept apart from the apply path above) ---------

    async def _hold(self, holds: list[Hold]) -> None:
        """Record the holds before their messages are parked and acked, waiting out a store that
        is away: a hold must never be lost, or the child's access would stay open on a copy that
        missed what may have been a withdrawal."""
        if not holds:
            return
        hold = getattr(self.sink, "hold", None)
        if hold is None:
            log.error("consent hold not recorded: this consumer's sink cannot hold (%d message(s) that may "
                      "restrict access could not be applied)", len(holds))
            return
        delay = self.initial_backoff_s
        while True:
            try:
                if inspect.iscoroutinefunction(hold):
                    await hold(holds)
                else:
                    await asyncio.to_thread(hold, holds)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried until recorded, whatever the failure
                log.error("recording %d consent hold(s) failed (%r); retrying in %.1fs", len(holds), exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    async def _park(self, message: Incoming, reason: str, tally: IngestStats) -> None:
        """Dead-letter until the broker acknowledges: the offset may only be acked after."""
        delay = self.initial_backoff_s
        while True:
            try:
                await self.dead_letter(message, reason)
                self.stats.dead_lettered += 1
                tally.dead_lettered += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("dead-lettering failed (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    def _count(self, result: IngestResult, tally: IngestStats) -> None:
        for stats in (self.stats, tally):
            stats.stored += result.stored
            stats.duplicates += result.duplicates


def _sum(parts: Sequence[IngestStats]) -> IngestStats:
    return IngestStats(*(sum(getattr(p, name) for p in parts) for name in ("stored", "duplicates", "dead_lettered",
                                                                            "batches")))
