"""Producing, consuming and dead-lettering through the real broker."""

from __future__ import annotations

import asyncio
import base64
import json
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from schemas.catalogue import parse_event
from schemas.deadletter import DeadLetterRecord
from schemas.topics import REFERRALS
from services.common.kafka import envelope_consumer, make_producer, send_envelope
from services.common.logging import get_correlation_id

from .support import concern, read_all


async def test_an_envelope_makes_a_round_trip_through_the_referrals_topic(kafka_bootstrap):
    envelope = concern(uuid4())
    producer = make_producer(kafka_bootstrap, client_id="roundtrip-test")
    await producer.start()
    try:
        meta = await producer.send_and_wait(REFERRALS.name, value=envelope.to_json_bytes(), key=envelope.key)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(REFERRALS.name, meta.partition)
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        record = await asyncio.wait_for(consumer.getone(), 15)
    finally:
        await consumer.stop()
    assert parse_event(record.value) == envelope
    assert record.key == str(envelope.subject).encode()


async def test_invalid_messages_go_to_the_dead_letter_topic_with_a_reason_and_the_stream_goes_on(
    kafka_bootstrap, fresh_topic
):
    source, deadletter = await fresh_topic("dlq-source"), await fresh_topic("dlq")
    child = uuid4()
    good = concern(child)
    bad_schema = json.loads(concern(child).to_json_bytes())
    bad_schema["data"]["areas_of_need"] = []
    # A newer producer's type is read, not parked (a tolerant reader): the handler gets it.
    unknown_type = json.loads(concern(child).to_json_bytes()) | {"type": "tac.referrals.made_up.v1"}
    poison = [b"{this is not json", json.dumps(bad_schema).encode()]

    producer = make_producer(kafka_bootstrap, client_id="dlq-test")
    await producer.start()
    handled = []

    async def handler(envelope):
        assert get_correlation_id() == envelope.correlationid  # logs while handling carry it
        handled.append(envelope.id)

    held = []

    async def hold(holds):
        held.extend(holds)

    consumer = envelope_consumer(
        bootstrap=kafka_bootstrap, topics={source: REFERRALS}, group_id=f"dlq-test-{uuid4().hex}", handler=handler,
        hold=hold, producer=producer, consumer_name="dlq-test", deadletter_topic=deadletter,
    )
    try:
        for raw in [poison[0], json.dumps(unknown_type).encode(), poison[1]]:
            await producer.send_and_wait(source, value=raw, key=str(child).encode())
        await send_envelope(producer, good, topic=source)
        await consumer.start()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len(handled) < 2 and loop.time() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        await consumer.stop()
        await producer.stop()

    assert handled == [UUID(unknown_type["id"]), good.id]
    # The message whose type cannot be read may have been a team event: it holds the child.
    assert [(h.child_id, h.why) for h in held] == [(child, "malformed")]
    assert REGISTRY.get_sample_value("tac_consumer_events_total", {"consumer": "dlq-test", "outcome": "dead_lettered"}) == 2
    assert REGISTRY.get_sample_value("tac_consumer_events_total", {"consumer": "dlq-test", "outcome": "handled"}) == 2
    records = [DeadLetterRecord.model_validate_json(r.value) for r in await read_all(kafka_bootstrap, deadletter, expected=2)]
    assert [r.original for r in records] == poison
    reasons = [r.reason for r in records]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1].startswith("event violates its schema") and "areas_of_need" in reasons[1]
    assert all(r.source_topic == source and r.key == str(child) for r in records)
    assert base64.b64decode(records[0].original_b64) == poison[0]


async def test_a_handler_that_keeps_failing_parks_the_message_instead_of_stopping(kafka_bootstrap, fresh_topic):
    source, deadletter = await fresh_topic("dlq-handler"), await fresh_topic("dlq")
    first, second = concern(uuid4()), concern(uuid4())
    producer = make_producer(kafka_bootstrap, client_id="dlq-handler-test")
    await producer.start()
    handled = []

    async def handler(envelope):
        if envelope.id == first.id:
            raise RuntimeError("store unavailable")
        handled.append(envelope.id)

    async def hold(holds):
        raise AssertionError(f"nothing here may hold: {holds}")

    consumer = envelope_consumer(
        bootstrap=kafka_bootstrap, topics={source: REFERRALS}, group_id=f"dlq-h-{uuid4().hex}", handler=handler,
        hold=hold, producer=producer, consumer_name="dlq-handler-test", deadletter_topic=deadletter, handler_attempts=2,
    )
    try:
        # same child: same partition, so `second` is read after `first`
        second = second.model_copy(update={"subject": first.subject})
        await send_envelope(producer, first, topic=source)
        await send_envelope(producer, second, topic=source)
        await consumer.start()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not handled and loop.time() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        await consumer.stop()
        await producer.stop()
    assert handled == [second.id]
    [record] = [DeadLetterRecord.model_validate_json(r.value) for r in await read_all(kafka_bootstrap, deadletter, expected=1)]
    assert "store unavailable" in record.reason and parse_event(record.original) == first
