"""A consumer that hands the pipeline whole fetches: aiokafka `getmany` straight into
`BatchIngestor.ingest`, offsets committed only after the batch is applied or parked.

Why not a Faust agent: a Faust stream moves each message through its own machinery (the
conductor, the topic's queue, the stream's iterator, per-event acks), which capped the
timeline at ~5,000-7,000 events/s with a sink that stores nothing, against ~150,000-270,000
for `getmany` on the same topic (bench/results/). A batch consumer needs none of it: the
fetch already is the batch.

Delivery, the same promise as services.common.streams' agent:
* at least once: a batch's offsets (the last offset + 1 of each partition in it) are committed
  only after `ingest` returned, i.e. after its transaction committed or its bad messages were
  parked; a crash or SIGKILL before that redelivers the batch and the store's claims by event
  id make the replay a no-op;
* in order: one batch is applied (in a worker thread) while the next is fetched, never more,
  so batches are applied and committed in the order fetched;
* on a rebalance the batch in flight is finished and committed before the partitions are
  given up (a ConsumerRebalanceListener), so the next owner starts after it; a commit refused
  because the group moved on loses nothing: the new owner replays, the claims de-duplicate.

A quiet stream is not made to wait: `getmany` returns as soon as anything is fetched, and
waits at most `idle_wait_s` when nothing is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from schemas.topics import Topic
from services.common.pipeline import BatchIngestor, Incoming

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedBatch:
    """What one batch came to, for a service's metrics: counts and, per partition, how far
    the partition's end is past the batch (None when the consumer does not know yet)."""

    size: int
    stored: int
    duplicates: int
    dead_lettered: int
    seconds: float
    lag: dict[TopicPartition, int | None]


@dataclass(eq=False)
class BatchConsumer:
    bootstrap: str
    topics: Mapping[str, Topic | None]  # topic name -> the contract topic it carries (None: not checked)
    group_id: str
    ingestor: BatchIngestor
    _: KW_ONLY
    client_id: str | None = None
    batch_max: int = 500
    idle_wait_s: float = 0.1
    session_timeout_s: float = 30.0
    on_batch: Callable[[FetchedBatch], None] = lambda _: None
    _consumer: AIOKafkaConsumer | None = field(default=None, init=False)
    _in_flight: asyncio.Task | None = field(default=None, init=False)

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group_id, client_id=self.client_id or self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=self.batch_max,
            session_timeout_ms=int(self.session_timeout_s * 1000),
            heartbeat_interval_ms=int(min(3.0, self.session_timeout_s / 3) * 1000),
        )
        self._consumer.subscribe(list(self.topics), listener=_FinishBeforeRevoke(self))
        await self._consumer.start()

    @property
    def started(self) -> bool:
        return self._consumer is not None

    async def running(self) -> str | None:
        """A readiness check (services.common.readiness): the consumer is started."""
        return None if self.started else "the consumer is not running"

    async def stop(self) -> None:
        """Leave the group. The batch in flight, if any, was finished (or cancelled, left
        uncommitted) by `run` on its way out."""
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        consumer = self._require_started()
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=int(self.idle_wait_s * 1000), max_records=self.batch_max)
                if not fetched:
                    continue
                await self.finish_in_flight()
                self._in_flight = asyncio.create_task(self._apply_then_commit(fetched))
            await self.finish_in_flight()
        finally:
            # Cancelled (stopping, or the supervisor restarting us): the batch still being
            # applied stays uncommitted, so it is delivered again and the claims make the
            # replay a no-op.
            if self._in_flight is not None and not self._in_flight.done():
                self._in_flight.cancel()

    async def finish_in_flight(self) -> None:
        if self._in_flight is not None:
            task, self._in_flight = self._in_flight, None
            await task

    async def _apply_then_commit(self, fetched: dict[TopicPartition, list]) -> None:
        consumer = self._require_started()
        stats = self.ingestor.stats
        before = (stats.stored, stats.duplicates, stats.dead_lettered)
        started = time.perf_counter()
        messages = [
            Incoming(r.value, r.key, r.topic, r.partition, r.offset, self.topics.get(r.topic), tuple(r.headers or ()))
            for records in fetched.values() for r in records
        ]
        await self.ingestor.ingest(messages)  # returns only once every message is applied or parked
        offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items()}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced and these partitions are someone else's now: they replay
            # from the last committed offset, which the claims make harmless.
            log.warning("offsets not committed (%r): the partitions' new owner replays them", exc)
        except KafkaError as exc:
            # The broker is away: the next batch's commit covers these offsets too.
            log.warning("offsets not committed (%r); the next commit covers them", exc)
        stored, duplicates, dead_lettered = (
            now - was for now, was in zip((stats.stored, stats.duplicates, stats.dead_lettered), before)
        )
        lag = {}
        for tp, records in fetched.items():
            highwater = consumer.highwater(tp)
            lag[tp] = None if highwater is None else max(0, highwater - records[-1].offset - 1)
        self.on_batch(FetchedBatch(len(messages), stored, duplicates, dead_lettered, time.perf_counter() - started,
                                   lag))

    def _require_started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("start the consumer first")
        return self._consumer


class _FinishBeforeRevoke(ConsumerRebalanceListener):
    """aiokafka awaits this before giving partitions up: the batch in flight is applied and
    its offsets committed while they are still ours."""

    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        try:
            await self._owner.finish_in_flight()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the rebalance must go on; the replay covers it
            log.warning("batch in flight failed during a rebalance (%r): it will be replayed", exc)

    async def on_partitions_assigned(self, assigned) -> None:
        return None
