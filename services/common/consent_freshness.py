"""The freshness gate's view of the broker: end offsets of the topics a service's consent copy
is fed from, and what the service has applied of them (the rule, consent_policy.freshness).

Notifications pass it before deciding an e-mail, a webhook or an inbox read; the timeline before
a read, so a withdrawal already on the topic is in force for the very next read.

Team events, the other half of the decision's state (DESIGN §3, rule 5), travel on the
referrals topic among everything else that happens to a child. Waiting for all of that topic
would make every read wait for the busiest topic's backlog, and a partition held on one child's
event would refuse every child's read. So a read about one child also waits for that child's
partition of the referrals topic (`keyed_topics`): the partition its events are produced to, by
the key every event carries, the child's id (schemas.envelope), and the producers' default
partitioner (murmur2, as Kafka's Java client). An organisation removed from the team a moment
ago is then off it for that read, as a withdrawn consent is.

What is applied, per partition, is the furthest of
* the consumer group's committed offsets: the batch consumer commits a partition's offset only
  after the batch's transactions committed (services.common.batch_consumer), so a committed
  offset is applied — by this process or by another member of the group writing to the same
  database;
* the positions this process's consumer records after each applied batch (`record`): the same
  fact, known as it is committed.

For a partition this process's consumer owns (`consumed_here`, told at each rebalance), the
group's commit is asked once after it is assigned, not on every read: while it is ours, no one
else commits it (a member that lost it has its commits refused by the group's generation) and
this process records a batch before committing it, so what `record` says is the newest there
is. Under load nearly every read finds its partitions behind, and that round trip to the broker
was 1.2 ms of a read's median 7.7 at the gate, 3.1 of its 90th percentile (9,400 events/s into
SQLite, 2026-12-04). If the group moved it on without this process hearing of it, the read's
last round before its wait runs out asks the broker for every partition still behind: such a
read waits longer, never decides on less.

One client, started with the service and reused by every round and every inbox read. Its
group id is the service's, to read the group's commits; it never subscribes, so it never
joins the group, and it never commits (auto commit off).

Its metadata tracks the gate's topics only, refreshed every `_METADATA_MAX_AGE_MS`. A client
that subscribes to nothing tracks no topic, so each read used to ask the broker for the
metadata of every topic in the cluster and decode it: 12% of the timeline's CPU in a profile
of sequential reads (py-spy, 2026-12-03). A partition added to a topic is seen within that
age. Until then the gate does not wait for it, and neither does the consumer, which finds a new
partition by the same kind of refresh (and a keyed topic does not gain partitions while in use:
adding them moves keys between partitions and breaks their order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import Gauge

from consent_policy.freshness import Partition, behind, by_topic, merge_applied

log = logging.getLogger(__name__)

# While behind, how often the copy is looked at again within one bounded wait.
_RECHECK_S = 0.1
# How old the gate's knowledge of its topics' partitions may grow (one small metadata request
# each time; the client default is five minutes).
_METADATA_MAX_AGE_MS = 5_000
# While behind, a log line at most this often (the gauge says it all the time).
_LOG_EVERY_S = 30.0
# Where a keyed message goes: the producers' own (aiokafka's default, Kafka's murmur2).
_PARTITIONER = DefaultPartitioner()


class BrokerUnavailable(Exception):
    """End offsets or committed offsets could not be read: nothing may be decided (fail closed)."""


class ConsentCopyFreshness:
    def __init__(self, bootstrap: str, *, group_id: str, topics: Iterable[str], client_id: str,
                 behind_gauge: Gauge, waiting: str, keyed_topics: Iterable[str] = (),
                 request_timeout_s: float = 5.0) -> None:
        """`topics`: waited for whole; `keyed_topics`: only the partition of the child a read is
        about (`wait_until_fresh(child=...)`). `behind_gauge`: the service's gauge of messages
        not applied, labelled by topic; `waiting`: what waits while the copy is behind, for the
        log line."""
        self._gauge = behind_gauge
        self._waiting = waiting
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = tuple(topics)
        self._keyed_topics = tuple(keyed_topics)
        self._client_id = client_id
        self._timeout_s = request_timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._local: dict[Partition, int] = {}
        self._consumed_here: frozenset[Partition] = frozenset()
        # Partitions consumed here whose group commit has been merged into `_local` since they
        # were assigned; `_assignments` counts rebalances, so an answer asked for before one is
        # not taken as asked after it.
        self._asked_since_assigned: set[Partition] = set()
        self._assignments = 0
        self._progress = asyncio.Event()
        self._behind_since: float | None = None
        self._logged_at = 0.0

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=self._group_id, client_id=self._client_id,
            enable_auto_commit=False, request_timeout_ms=int(self._timeout_s * 1000),
            metadata_max_age_ms=_METADATA_MAX_AGE_MS,
        )
        await consumer.start()
        # aiokafka has no public call for a client that tracks topics without subscribing.
        await consumer._client.set_topics(self._topics + self._keyed_topics)
        self._consumer = consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    def consumed_here(self, partitions: Iterable[Partition]) -> None:
        """This process's consumer owns `partitions` from now on (its whole assignment; none
        while the group rebalances). Called on the event loop by the consumer's rebalance
        listener."""
        self._consumed_here = frozenset(partitions)
        self._asked_since_assigned = set()
        self._assignments += 1

    def record(self, topic: str, partition: int, next_offset: int) -> None:
        """This process applied (or parked) everything of `topic`/`partition` before `next_offset`.
        Called on the event loop (the consumer's batch callback); wakes the gates waiting."""
        tp = (topic, partition)
        if next_offset > self._local.get(tp, -1):
            self._local[tp] = next_offset
            self._progress.set()

    async def wait_until_fresh(self, timeout_s: float, *, child: UUID | None = None) -> dict[Partition, int]:
        """Snapshot the end offsets now (of `child`'s partition of each keyed topic too), then
        wait up to `timeout_s` for the copy to apply everything up to them. Returns what is
        still missing per partition (empty: fresh). Raises BrokerUnavailable if the broker
        cannot say (the caller must not decide)."""
        deadline = time.monotonic() + timeout_s
        snapshot = await self._end_offsets(child)
        while True:
            last_round = time.monotonic() + _RECHECK_S > deadline
            lag = behind(snapshot, self._local)
            # The group's commits may know more than this process (another member, a restart),
            # except of a partition consumed here and asked since it was assigned.
            ask = [tp for tp in lag if last_round or tp not in self._asked_since_assigned]
            if ask:
                assignments = self._assignments
                committed = await self._committed(ask)
                # A committed offset is applied: kept, so the next round asks only beyond it.
                # Merged into `_local` as it is now, after the await: read before it, what
                # `record` and other reads added meanwhile would be lost, and a partition asked
                # already would then wait for its next batch, or the read's last round.
                self._local = merge_applied(self._local, committed)
                if assignments == self._assignments:
                    self._asked_since_assigned.update(tp for tp in ask if tp in self._consumed_here)
                lag = behind(snapshot, self._local)
            if not lag or last_round:
                self._report(lag)
                return lag
            # Looked at again as soon as this process applies a batch (a withdrawal the read
            # waits for is applied here, typically within milliseconds), else after _RECHECK_S.
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), _RECHECK_S)
            except asyncio.TimeoutError:
                pass

    async def _end_offsets(self, child: UUID | None) -> dict[Partition, int]:
        consumer = self._started()
        try:
            partitions = [TopicPartition(topic, p) for topic in self._topics for p in await self._partitions(topic)]
            if child is not None:
                key = str(child).encode()  # schemas.envelope: every event's key is its subject's id
                for topic in self._keyed_topics:
                    every = sorted(await self._partitions(topic))
                    partitions.append(TopicPartition(topic, _PARTITIONER(key, every, every)))
            ends = await asyncio.wait_for(consumer.end_offsets(partitions), self._timeout_s)
        except BrokerUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to read the broker closes the gate
            raise BrokerUnavailable(f"end offsets could not be read: {exc!r}") from exc
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}

    async def _partitions(self, topic: str) -> set[int]:
        consumer = self._started()
        found = consumer.partitions_for_topic(topic)
        if not found:
            # The client's metadata lists only topics it was asked about: ask about all once.
            # (aiokafka has no public call that refreshes it; `topics()` returns names only.)
            found = (await asyncio.wait_for(consumer._client.fetch_all_metadata(), self._timeout_s)
                     ).partitions_for_topic(topic)
        if not found:
            raise BrokerUnavailable(f"the broker lists no partitions of {topic}")
        return found

    async def _committed(self, partitions: list[Partition]) -> dict[Partition, int | None]:
        consumer = self._started()
        try:
            found = await asyncio.wait_for(
                asyncio.gather(*(consumer.committed(TopicPartition(t, p)) for t, p in partitions)), self._timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure to read the broker closes the gate
            raise BrokerUnavailable(f"committed offsets could not be read: {exc!r}") from exc
        return dict(zip(partitions, found))

    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise BrokerUnavailable("the freshness client is not started")
        return self._consumer

    def _report(self, lag: dict[Partition, int]) -> None:
        totals = by_topic(lag)
        for topic in self._topics + self._keyed_topics:
            self._gauge.labels(topic).set(totals.get(topic, 0))
        now = time.monotonic()
        if lag:
            if self._behind_since is None:
                self._behind_since = now
            if now - self._logged_at >= _LOG_EVERY_S:
                self._logged_at = now
                log.warning("the consent copy is behind the topics it is fed from (%s messages: %s) for %.0fs; "
                            "%s until it has caught up", sum(lag.values()), totals, now - self._behind_since,
                            self._waiting)
        elif self._behind_since is not None:
            log.info("the consent copy has caught up after %.1fs", now - self._behind_since)
            self._behind_since = None
            self._logged_at = 0.0


async def fresh_enough(freshness: ConsentCopyFreshness | None, wait_s: float, *, child: UUID | None = None) -> bool:
    """Whether a read (about `child`, when given) may decide on the consent copy now: it holds
    everything already published on the topics it is fed from (waiting up to `wait_s` for it).
    False when the broker cannot say: fail closed. None: a copy not fed from topics (tests of
    the routes alone)."""
    if freshness is None:
        return True
    try:
        return not await freshness.wait_until_fresh(wait_s, child=child)
    except BrokerUnavailable:
        return False


CATCHING_UP = "the service is catching up with consent changes; try again shortly"
# The routes' OpenAPI `responses` entry for the 503.
CATCHING_UP_RESPONSE = {503: {"description": "The service is catching up with consent changes already made; "
                                             "try again shortly (Retry-After)"}}
