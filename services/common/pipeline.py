"""The one consumer pipeline: raw messages in, each event applied once or parked, acked after.

    parse -> check the event belongs on the topic it came from -> apply the batch once, by event
    id, in one transaction -> retry what is transient -> dead-letter what is not

used by the batch consumers (services.common.batch_consumer.BatchConsumer; the benchmarks'
Faust agent, services.common.streams, too). A service supplies two things:

* a sink with `ingest(batch) -> IngestResult`, normally its handler table bound to its unit of
  work (`MessageBus(HANDLERS).sink(transactions)`, services.common.messagebus): synchronous
  sinks run in a worker thread, async ones (`async def ingest`) are awaited;
* a dead-letter callable `(Incoming, reason)`, normally services.common.kafka.dead_letter_to.

What a raw message is — valid, misrouted or never parseable, and the consent holds parking it
calls for — is services.common.incoming's (`parse_batch`). Here, the holds are recorded by the
sink's `hold(holds)` before the message is parked, so the service's consent-based access for
that child fails closed until a person releases it.

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
import contextvars
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from typing import Protocol

from consent_policy.holds import Hold
from services.common.consent_hold import PartitionKey, StuckPartitions, holds_partition, partition_of
from services.common.incoming import Incoming, parse_batch
from services.common.messagebus import Consumed, IngestResult

log = logging.getLogger(__name__)


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
    _thread: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.stuck = StuckPartitions(self.consumer)
        # The stream's own worker thread, not asyncio's default pool: that pool (6 threads on 2
        # cores) also runs the service's HTTP reads and the relay, and a profile under polling
        # readers found all of its threads in reads, so the next batch would queue behind them
        # and the entries the readers wait for with it. One thread: batches apply in order anyway.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.consumer}-ingest")

    async def _in_thread(self, func: Callable, /, *args):
        """`asyncio.to_thread` on the stream's own thread (the log context goes along)."""
        call = functools.partial(contextvars.copy_context().run, func, *args)
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

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
        parsed = await self._in_thread(parse_batch, messages)
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
                return await self._in_thread(self.sink.ingest, batch)
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
                    await self._in_thread(hold, holds)
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
