"""The batch consumer on the real broker: offsets are committed only after a batch is applied,
so a consumer stopped mid-batch leaves it to be delivered again."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import REFERRALS
from services.common.batch_consumer import BatchConsumer
from services.common.kafka import make_producer
from services.common.messagebus import IngestResult
from services.common.pipeline import BatchIngestor

from .support import concern


class GatedSink:
    """Records what it is given; holds every batch until `gate` is set."""

    def hold(self, holds):  # a consumer of the referrals topic must be able to hold; nothing here is malformed
        raise AssertionError(f"nothing here may hold: {holds}")

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.seen: list = []

    async def ingest(self, batch):
        self.entered.set()
        await self.gate.wait()
        self.seen.extend(item.id for item in batch)
        return IngestResult(len(batch), 0)


async def _never_parked(message, reason):
    raise AssertionError(f"nothing here is invalid: {reason}")


async def _produce(bootstrap: str, topic: str, count: int) -> list:
    events = [concern(uuid4()) for _ in range(count)]
    producer = make_producer(bootstrap, client_id="batch-consumer-test")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, event.to_json_bytes(), key=event.key, partition=0)
    finally:
        await producer.stop()
    return events


async def _committed(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        return await probe.committed(tp)
    finally:
        await probe.stop()


def _consumer(bootstrap: str, topic: str, group: str, sink: GatedSink) -> BatchConsumer:
    return BatchConsumer(bootstrap, {topic: REFERRALS}, group, BatchIngestor(sink, _never_parked),
                         batch_max=100, idle_wait_s=0.05, session_timeout_s=6)


async def test_offsets_are_committed_only_after_the_batch_is_applied(kafka_bootstrap, fresh_topic):
    topic, group = await fresh_topic("batch-commit", partitions=1), f"batch-commit-{uuid4().hex[:8]}"
    events = await _produce(kafka_bootstrap, topic, 5)
    sink = GatedSink()
    consumer = _consumer(kafka_bootstrap, topic, group, sink)
    await consumer.start()
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(sink.entered.wait(), 30)
        await asyncio.sleep(0.5)  # time enough for a commit, were one to be made too early
        assert await _committed(kafka_bootstrap, group, TopicPartition(topic, 0)) is None

        sink.gate.set()
        for _ in range(200):
            if await _committed(kafka_bootstrap, group, TopicPartition(topic, 0)) == 5:
                break
            await asyncio.sleep(0.05)
        assert await _committed(kafka_bootstrap, group, TopicPartition(topic, 0)) == 5
        assert sink.seen == [e.id for e in events]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await consumer.stop()


async def test_an_applied_batch_is_reported_before_its_offsets_are_committed(kafka_bootstrap, fresh_topic):
    """A read waiting at the freshness gate is let go once the batch's transaction committed, not
    a broker round trip later; and never before the batch is applied."""
    topic, group = await fresh_topic("batch-report", partitions=1), f"batch-report-{uuid4().hex[:8]}"
    await _produce(kafka_bootstrap, topic, 3)
    sink, reported = GatedSink(), []
    consumer = BatchConsumer(kafka_bootstrap, {topic: REFERRALS}, group, BatchIngestor(sink, _never_parked),
                             batch_max=100, idle_wait_s=0.05, session_timeout_s=6,
                             on_batch=lambda batch: reported.append(batch.applied))
    await consumer.start()
    commit_may_go, committing = asyncio.Event(), asyncio.Event()
    kafka_consumer = consumer._consumer
    real_commit = kafka_consumer.commit

    async def held_commit(offsets):
        committing.set()
        await commit_may_go.wait()
        await real_commit(offsets)

    kafka_consumer.commit = held_commit
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(sink.entered.wait(), 30)
        await asyncio.sleep(0.2)
        assert reported == []  # not applied yet

        sink.gate.set()
        await asyncio.wait_for(committing.wait(), 30)
        assert reported == [{TopicPartition(topic, 0): 3}]  # while the commit has not been made
        assert await _committed(kafka_bootstrap, group, TopicPartition(topic, 0)) is None

        commit_may_go.set()
        for _ in range(200):
            if await _committed(kafka_bootstrap, group, TopicPartition(topic, 0)) == 3:
                break
            await asyncio.sleep(0.05)
        assert await _committed(kafka_bootstrap, group, TopicPartition(topic, 0)) == 3
    finally:
        commit_may_go.set()
        stop.set()
        await asyncio.wait_for(running, 30)
        await consumer.stop()


async def test_a_batch_in_flight_when_the_consumer_is_cancelled_is_delivered_again(kafka_bootstrap, fresh_topic):
    topic, group = await fresh_topic("batch-redeliver", partitions=1), f"batch-redeliver-{uuid4().hex[:8]}"
    events = await _produce(kafka_bootstrap, topic, 3)
    held = GatedSink()
    first = _consumer(kafka_bootstrap, topic, group, held)
    await first.start()
    running = asyncio.create_task(first.run(asyncio.Event()))
    await asyncio.wait_for(held.entered.wait(), 30)
    running.cancel()  # as a crash would: the batch never finished
    await asyncio.gather(running, return_exceptions=True)
    await first.stop()
    assert held.seen == []

    again = GatedSink()
    again.gate.set()
    second = _consumer(kafka_bootstrap, topic, group, again)
    await second.start()
    stop = asyncio.Event()
    running = asyncio.create_task(second.run(stop))
    try:
        for _ in range(400):
            if len(again.seen) >= 3:
                break
            await asyncio.sleep(0.05)
        assert again.seen == [e.id for e in events]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await second.stop()


async def test_a_run_restarted_on_the_same_consumer_fetches_again_what_the_failed_run_left_uncommitted(
    kafka_bootstrap, fresh_topic
):
    # The supervisor restarts `run` on the started consumer after a failure: its position is
    # past the batch that was in flight, which must be fetched again, not skipped.
    topic, group = await fresh_topic("batch-rerun", partitions=1), f"batch-rerun-{uuid4().hex[:8]}"
    events = await _produce(kafka_bootstrap, topic, 3)
    sink = GatedSink()
    consumer = _consumer(kafka_bootstrap, topic, group, sink)
    await consumer.start()
    try:
        failed = asyncio.create_task(consumer.run(asyncio.Event()))
        await asyncio.wait_for(sink.entered.wait(), 30)
        failed.cancel()
        await asyncio.gather(failed, return_exceptions=True)
        assert sink.seen == []

        sink.gate.set()
        stop = asyncio.Event()
        running = asyncio.create_task(consumer.run(stop))
        try:
            for _ in range(400):
                if len(sink.seen) >= 3:
                    break
                await asyncio.sleep(0.05)
            assert sink.seen == [e.id for e in events]
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
    finally:
        await consumer.stop()


async def test_each_rebalance_tells_the_partitions_the_consumer_owns(kafka_bootstrap, fresh_topic):
    """The freshness gate trusts this process's positions for the partitions it is told are its own."""
    topic, group = await fresh_topic("batch-assigned", partitions=2), f"batch-assigned-{uuid4().hex[:8]}"
    told: dict[str, list[frozenset]] = {"first": [], "second": []}
    consumers = {name: _consumer(kafka_bootstrap, topic, group, GatedSink()) for name in told}
    for name, consumer in consumers.items():
        consumer.on_assignment = told[name].append
    stop = asyncio.Event()
    both = {(topic, 0), (topic, 1)}

    async def until(condition) -> None:
        for _ in range(300):
            if condition():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"never told as expected: {told}")

    running = []
    try:
        await consumers["first"].start()
        running.append(asyncio.create_task(consumers["first"].run(stop)))
        await until(lambda: told["first"] and told["first"][-1] == both)
        await consumers["second"].start()
        running.append(asyncio.create_task(consumers["second"].run(stop)))
        await until(lambda: told["second"] and told["second"][-1] and len(told["first"][-1]) == 1)
        # The first gave up everything as the group rebalanced, then was told its share; the two
        # shares are the topic's partitions, each owned by one.
        assert frozenset() in told["first"][1:]
        assert told["first"][-1] | told["second"][-1] == both
        assert not told["first"][-1] & told["second"][-1]
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
        for consumer in consumers.values():
            await consumer.stop()
