"""A plain consumer (kafka.envelope_consumer, a BatchConsumer, as the referrals service's copy of consent uses) holds
only the partition of a consent event its handler cannot apply for a while: that partition is
paused and left uncommitted, the others are applied and committed meanwhile, and the event is
applied once the fault clears — never dead-lettered. Real broker."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY

from schemas import topics
from services.common.kafka import envelope_consumer, make_producer
from tests.unit.timeline.timeline_builders import envelope, granted_payload, withdrawn

from .support import read_all, until

STUCK = 0


async def committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()


async def test_a_consent_event_the_handler_fails_for_a_while_holds_only_its_partition(kafka_bootstrap, fresh_topic):
    source, deadletter = await fresh_topic("hold-consent"), await fresh_topic("hold-dlq")
    child = uuid4()
    grant = envelope(granted_payload(), child)
    withdrawal = withdrawn(child, grant.data.consent_id)
    others = {partition: envelope(granted_payload(), uuid4()) for partition in range(1, 6)}
    released = asyncio.Event()
    failures = 0
    handled: list = []

    async def handler(event) -> None:
        nonlocal failures
        if event.id == grant.id and not released.is_set():
            failures += 1
            raise RuntimeError("simulated failure applying the consent event")
        handled.append(event.id)

    group, name = f"hold-{uuid4().hex}", f"hold-consumer-{uuid4().hex[:8]}"
    producer = make_producer(kafka_bootstrap, client_id="hold-test")
    await producer.start()
    async def hold(holds):  # a consent consumer must be able to hold; nothing here is malformed
        raise AssertionError(f"nothing here may hold: {holds}")

    consumer = envelope_consumer(
        bootstrap=kafka_bootstrap, topics={source: topics.CONSENT}, group_id=group, handler=handler, hold=hold,
        producer=producer, consumer_name=name, deadletter_topic=deadletter,
        initial_backoff_s=0.05, max_backoff_s=0.2,
    )
    stop = asyncio.Event()
    try:
        for event in (grant, withdrawal):
            await producer.send_and_wait(source, event.to_json_bytes(), key=event.key, partition=STUCK)
        for partition, event in others.items():
            await producer.send_and_wait(source, event.to_json_bytes(), key=event.key, partition=partition)
        await consumer.start()
        task = asyncio.create_task(consumer.run(stop))

        async def others_applied_and_committed() -> bool:
            offsets = await committed(kafka_bootstrap, group)
            return {e.id for e in others.values()} <= set(handled) and all(offsets.get(p) == 1 for p in others)

        await until(others_applied_and_committed, what="the other partitions applied and committed")
        assert consumer.held == {(source, STUCK)}
        assert grant.id not in handled and withdrawal.id not in handled
        assert STUCK not in await committed(kafka_bootstrap, group)
        gauge = {"consumer": name, "topic": source, "partition": str(STUCK)}
        assert REGISTRY.get_sample_value("consent_apply_stuck_seconds", gauge) > 0
        # Later messages of the other partitions still flow while it is held.
        late = envelope(granted_payload(), uuid4())
        await producer.send_and_wait(source, late.to_json_bytes(), key=late.key, partition=3)
        await until(lambda: _true(late.id in handled), what="a later event on another partition")
        assert grant.id not in handled

        released.set()

        async def held_partition_done() -> bool:
            return withdrawal.id in handled and (await committed(kafka_bootstrap, group)).get(STUCK) == 2

        await until(held_partition_done, what="the held partition applied and committed")
        assert handled.index(grant.id) < handled.index(withdrawal.id)
        assert handled.count(grant.id) == 1 and failures >= 1
        assert consumer.held == set() and consumer.dead_lettered == 0
        assert REGISTRY.get_sample_value("consent_apply_stuck_seconds", gauge) == 0
        stop.set()
        await asyncio.wait_for(task, 30)
    finally:
        stop.set()
        await consumer.stop()
        await producer.stop()
    assert await read_all(kafka_bootstrap, deadletter, expected=0, timeout_s=1) == []


async def _true(value: bool) -> bool:
    return value
