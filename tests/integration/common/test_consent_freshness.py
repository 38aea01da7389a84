"""The freshness gate (services.common.consent_freshness) against the real broker: it knows its
topics' partitions without asking for the whole cluster's metadata on every read, a partition
added to a topic closes the gate within the metadata age (fail closed), and a read about a
child waits for the very partition the producers put that child's events on."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.partitioner import murmur2
from prometheus_client import CollectorRegistry, Gauge

from services.common import consent_freshness
from services.common.consent_freshness import ConsentCopyFreshness


def _gate(bootstrap: str, topic: str) -> ConsentCopyFreshness:
    gauge = Gauge("behind", "messages not applied", ["topic"], registry=CollectorRegistry())
    return ConsentCopyFreshness(bootstrap, group_id=f"gate-{uuid.uuid4().hex[:8]}", topics=[topic],
                                client_id="gate-test", behind_gauge=gauge, waiting="reads wait")


async def test_a_read_asks_the_broker_for_its_topics_only(kafka_bootstrap, fresh_topic):
    topic = await fresh_topic("gate")
    gate = _gate(kafka_bootstrap, topic)
    await gate.start()
    try:
        async def whole_cluster():
            raise AssertionError("a read asked for the metadata of every topic in the cluster")

        gate._consumer._client.fetch_all_metadata = whole_cluster  # type: ignore[union-attr]
        for _ in range(3):
            assert await gate.wait_until_fresh(0.1) == {}  # an empty topic: nothing to apply
    finally:
        await gate.stop()


async def test_a_partition_added_to_the_topic_closes_the_gate_within_the_metadata_age(
        kafka_bootstrap, fresh_topic, monkeypatch):
    monkeypatch.setattr(consent_freshness, "_METADATA_MAX_AGE_MS", 500)
    topic = await fresh_topic("gate", partitions=1)
    gate = _gate(kafka_bootstrap, topic)
    await gate.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await producer.start()
    try:
        assert await gate.wait_until_fresh(0.1) == {}
        await admin.create_partitions({topic: NewPartitions(total_count=2)})
        # A withdrawal on the new partition, which nothing has applied: the gate must see it.
        deadline = time.monotonic() + 20
        while True:
            try:
                await producer.send_and_wait(topic, b"{}", partition=1)
                break
            except Exception:  # noqa: BLE001 - the producer has not seen the new partition yet
                assert time.monotonic() < deadline, "the broker never accepted a message on the new partition"
                await asyncio.sleep(0.2)
        while (lag := await gate.wait_until_fresh(0.1)) != {(topic, 1): 1}:
            assert time.monotonic() < deadline, f"the gate did not see the new partition: {lag}"
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
        await admin.close()
        await gate.stop()


async def test_a_read_about_a_child_waits_for_that_childs_partition_of_a_keyed_topic_alone(kafka_bootstrap, fresh_topic):
    consent, referrals = await fresh_topic("gate"), await fresh_topic("gate-keyed", partitions=6)
    gauge = Gauge("behind", "messages not applied", ["topic"], registry=CollectorRegistry())
    gate = ConsentCopyFreshness(kafka_bootstrap, group_id=f"gate-{uuid.uuid4().hex[:8]}", topics=[consent],
                                keyed_topics=[referrals], client_id="gate-test", behind_gauge=gauge,
                                waiting="reads wait")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await gate.start()
    await producer.start()
    try:
        child = uuid.uuid4()
        # Produced as the services produce (keyed by the child's id, the default partitioner).
        sent = await producer.send_and_wait(referrals, b"{}", key=str(child).encode())
        assert await gate.wait_until_fresh(0.1, child=child) == {(referrals, sent.partition): 1}
        # Another child, on another partition: nothing there to wait for.
        other = next(c for c in iter(uuid.uuid4, None)
                     if (murmur2(str(c).encode()) & 0x7FFFFFFF) % 6 != sent.partition)
        assert await gate.wait_until_fresh(0.1, child=other) == {}
        assert await gate.wait_until_fresh(0.1) == {}  # a read about no child waits for no keyed topic
        gate.record(referrals, sent.partition, sent.offset + 1)
        assert await gate.wait_until_fresh(0.1, child=child) == {}
    finally:
        await producer.stop()
        await gate.stop()


async def test_a_partition_consumed_here_is_asked_of_the_group_once_after_each_assignment(kafka_bootstrap, fresh_topic):
    """Once its group commit is known, a partition this process consumes is waited for on what
    the process records; one it does not consume is asked of the group on every read."""
    ours, theirs = await fresh_topic("gate", partitions=1), await fresh_topic("gate-other", partitions=1)
    gauge = Gauge("behind", "messages not applied", ["topic"], registry=CollectorRegistry())
    gate = ConsentCopyFreshness(kafka_bootstrap, group_id=f"gate-{uuid.uuid4().hex[:8]}", topics=[ours, theirs],
                                client_id="gate-test", behind_gauge=gauge, waiting="reads wait")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await gate.start()
    await producer.start()
    asked: list[list[tuple[str, int]]] = []
    ask_the_group = gate._committed

    async def counting(partitions):
        asked.append(sorted(partitions))
        return await ask_the_group(partitions)

    gate._committed = counting  # type: ignore[method-assign]
    try:
        gate.consumed_here([(ours, 0)])
        for round_ in range(1, 4):
            for topic in (ours, theirs):
                await producer.send_and_wait(topic, b"{}")
            # The consumer applies both partitions' new message a moment after the read asks.
            asyncio.get_running_loop().call_later(
                0.05, lambda n=round_: (gate.record(ours, 0, n), gate.record(theirs, 0, n)))
            assert await gate.wait_until_fresh(5.0) == {}
        # Asked of the group: both the first time, then only the partition not consumed here.
        assert asked[0] == sorted([(ours, 0), (theirs, 0)])
        assert all(round_ == [(theirs, 0)] for round_ in asked[1:]), asked

        asked.clear()
        gate.consumed_here([(ours, 0)])  # a rebalance gave it back: its commit is asked once more
        await producer.send_and_wait(ours, b"{}")
        asyncio.get_running_loop().call_later(0.05, gate.record, ours, 0, 4)
        assert await gate.wait_until_fresh(5.0) == {}
        assert asked == [[(ours, 0)]]
    finally:
        await producer.stop()
        await gate.stop()


async def test_a_read_still_finds_a_commit_this_process_did_not_hear_of_before_its_wait_runs_out(
        kafka_bootstrap, fresh_topic):
    """The group moved a partition on without this process hearing of it, and another member
    applied and committed it: the read's last round asks the group, and is fresh, not refused."""
    topic = await fresh_topic("gate", partitions=1)
    group = f"gate-{uuid.uuid4().hex[:8]}"
    gauge = Gauge("behind", "messages not applied", ["topic"], registry=CollectorRegistry())
    gate = ConsentCopyFreshness(kafka_bootstrap, group_id=group, topics=[topic], client_id="gate-test",
                                behind_gauge=gauge, waiting="reads wait")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    other_member = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await gate.start()
    await producer.start()
    await other_member.start()
    try:
        gate.consumed_here([(topic, 0)])
        await producer.send_and_wait(topic, b"{}")
        asyncio.get_running_loop().call_later(0.05, gate.record, topic, 0, 1)
        assert await gate.wait_until_fresh(5.0) == {}  # its commit asked once (none yet), then recorded here
        sent = await producer.send_and_wait(topic, b"{}")
        other_member.assign([TopicPartition(topic, 0)])
        await other_member.commit({TopicPartition(topic, 0): sent.offset + 1})
        started = time.monotonic()
        assert await gate.wait_until_fresh(0.5) == {}
        assert time.monotonic() - started >= 0.4 - consent_freshness._RECHECK_S  # found on its last round
    finally:
        await other_member.stop()
        await producer.stop()
        await gate.stop()
