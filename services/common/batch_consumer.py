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

Partitions progress independently (services.common.lanes): a consent or team event that will
not apply is never dead-lettered for it; its partition is paused and left uncommitted while a
lane retries it, and the other partitions go on being applied and committed. Each partition's
offset is committed on its own, once its messages are all applied or parked.

A quiet stream is not made to wait: `getmany` returns as soon as anything is fetched, and
waits at most `idle_wait_s` when nothing is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from schemas.topics import Topic
from services.common.consent_hold import PartitionKey
from services.common.lanes import PartitionLanes
from services.common.pipeline import BatchIngestor, IngestStats
from services.common.incoming import Incoming, subscriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedBatch:
    """What one applied batch came to, for a service's metrics and its freshness gate: counts
    and, per partition, how far the partition's end is past the batch (None when the consumer
    does not know yet) and the offset after its last message (everything before it applied or
    parked; reported before the offsets are committed to the broker). A held
    partition's lane reports its messages as a batch of their own once applied."""

    size: int
    stored: int
    duplicates: int
    dead_lettered: int
    seconds: float
    lag: dict[TopicPartition, int | None]
    applied: dict[TopicPartition, int] = field(default_factory=dict)


@dataclass(eq=False)
class BatchConsumer:
    bootstrap: str
    topics: Mapping[str, Topic | None]  # topic name -> the contract topic it carries (None refused)
    group_id: str
    ingestor: BatchIngestor
    _: KW_ONLY
    client_id: str | None = None
    batch_max: int = 500
    idle_wait_s: float = 0.1
    session_timeout_s: float = 30.0
    on_batch: Callable[[FetchedBatch], None] = lambda _: None
    # Told the partitions this consumer owns at each rebalance: none as one starts, its whole new
    # assignment as it ends (the freshness gate's `consumed_here`).
    on_assignment: Callable[[frozenset[PartitionKey]], None] = lambda _: None
    _consumer: AIOKafkaConsumer | None = field(default=None, init=False)
    _in_flight: asyncio.Task | None = field(default=None, init=False)
    _runs: int = field(default=0, init=False)
    _lanes: PartitionLanes[ConsumerRecord] = field(init=False)

    def __post_init__(self) -> None:
        # Refused when built, not when a message turns up: a topic with no contract, or one whose
        # messages may restrict access consumed by a sink that cannot record holds.
        self.topics = subscriptions(self.topics, self.ingestor.sink)
        self._lanes = PartitionLanes(self.ingestor, incoming=self._incoming, done=self._commit,
                                     pause=self._pause, resume=self._resume)

    @property
    def handled(self) -> int:
        return self.ingestor.applied

    @property
    def dead_lettered(self) -> int:
        return self.ingestor.stats.dead_lettered

    @property
    def held(self) -> set[PartitionKey]:
        """The partitions paused behind a consent event that does not apply yet."""
        return self._lanes.held

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
        uncommitted) by `run` on its way out; held partitions stay uncommitted."""
        await self._lanes.close()
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        consumer = self._require_started()
        self._runs += 1
        if self._runs > 1:  # restarted by the supervisor after a failure
            await self._back_to_committed(consumer)
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=int(self.idle_wait_s * 1000), max_records=self.batch_max)
                if not fetched:
                    continue
                await self.finish_in_flight()
                # `feed` returns once the batch's partitions that nothing holds are applied and
                # committed; a held partition's lane goes on trying on its own.
                self._in_flight = asyncio.create_task(
                    self._lanes.feed([record for records in fetched.values() for record in records]))
            await self.finish_in_flight()
        finally:
            # Cancelled (stopping, or the supervisor restarting us): the batch still being
            # applied and the held partitions stay uncommitted, so they are delivered again
            # and the claims make the replay a no-op.
            task, self._in_flight = self._in_flight, None
            if task is not None and not task.done():
                task.cancel()  # and waited for, so a restarted run starts with nothing in flight
                await asyncio.gather(task, return_exceptions=True)
            await self._lanes.close()

    async def _back_to_committed(self, consumer: AIOKafkaConsumer) -> None:
        """What the last run fetched and did not commit (a batch cancelled in flight, a held
        partition's events) is fetched again, not skipped: every partition back to its
        committed offset (its beginning when none), and none left paused."""
        for tp in consumer.assignment():
            offset = await consumer.committed(tp)
            if offset is None or offset < 0:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
        consumer.resume(*consumer.assignment())

    async def finish_in_flight(self) -> None:
        if self._in_flight is not None:
            task, self._in_flight = self._in_flight, None
            await task

    async def drop_lanes(self, keys: Sequence[PartitionKey]) -> None:
        """Stop the lanes of partitions no longer ours, their messages left uncommitted."""
        await self._lanes.drop(keys)

    def _incoming(self, r: ConsumerRecord) -> Incoming:
        return Incoming(r.value, r.key, r.topic, r.partition, r.offset, self.topics.get(r.topic),
                        tuple(r.headers or ()))

    def _pause(self, key: PartitionKey) -> None:
        self._require_started().pause(TopicPartition(*key))

    def _resume(self, key: PartitionKey, rewind: Sequence[ConsumerRecord]) -> None:
        consumer = self._consumer
        tp = TopicPartition(*key)
        if consumer is not None and tp in consumer.assignment():  # revoked meanwhile: not ours to fetch
            if rewind:  # the lane stopped short: fetch again from its first message not applied
                consumer.seek(tp, rewind[0].offset)
            consumer.resume(tp)

    async def _commit(self, records: Sequence[ConsumerRecord], stats: IngestStats, seconds: float) -> None:
        """`records` are all applied or parked: say so (`on_batch`), then commit, per partition,
        past the last of them.

        Said first: what a batch's transaction committed is in the store whatever becomes of the
        offset commit, and a read waiting at the freshness gate (services.common.consent_freshness)
        for these events need not wait a broker round trip more. A commit that fails loses
        nothing (the partitions replay from the last committed offset, the claims de-duplicate)."""
        if not records:
            return
        consumer = self._require_started()
        last: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            last[tp] = max(last.get(tp, -1), r.offset)
        lag = {}
        for tp, offset in last.items():
            highwater = consumer.highwater(tp)
            lag[tp] = None if highwater is None else max(0, highwater - offset - 1)
        applied = {tp: offset + 1 for tp, offset in last.items()}
        self.on_batch(FetchedBatch(len(records), stats.stored, stats.duplicates, stats.dead_lettered, seconds, lag,
                                   applied))
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in applied.items() if tp in assigned}
        try:
            if offsets:
                await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced and these partitions are someone else's now: they replay
            # from the last committed offset, which the claims make harmless.
            log.warning("offsets not committed (%r): the partitions' new owner replays them", exc)
        except KafkaError as exc:
            # The broker is away: the partition's next commit covers these offsets too.
            log.warning("offsets not committed (%r); the next commit covers them", exc)

    def _require_started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("start the consumer first")
        return self._consumer


class _FinishBeforeRevoke(ConsumerRebalanceListener):
    """aiokafka awaits this before giving partitions up: the batch in flight is applied and
    its offsets committed while they are still ours; the lanes of revoked partitions stop,
    uncommitted, for their next owner to read again."""

    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        self._owner.on_assignment(frozenset())
        try:
            await self._owner.finish_in_flight()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the rebalance must go on; the replay covers it
            log.warning("batch in flight failed during a rebalance (%r): it will be replayed", exc)
        await self._owner.drop_lanes([(tp.topic, tp.partition) for tp in revoked])

    async def on_partitions_assigned(self, assigned) -> None:
        self._owner.on_assignment(frozenset((tp.topic, tp.partition) for tp in assigned))
