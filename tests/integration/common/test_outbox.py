"""The transactional outbox on both stores and the real broker."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import func, insert, select

from services.common.db import make_engine, make_session_factory
from services.common.kafka import make_producer
from services.common.outbox import OutboxRelay, add_to_outbox

from .support import concern, metadata, outbox, read_all, things


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


async def test_a_rolled_back_transaction_publishes_nothing_and_a_committed_one_publishes_once(
    store, kafka_bootstrap, fresh_topic
):
    topic = await fresh_topic("outbox")
    committed, rolled_back = concern(uuid4()), concern(uuid4())
    with store.begin() as session:
        session.execute(insert(things).values(id="kept"))
        add_to_outbox(session, outbox, committed, topic=topic)
    with pytest.raises(RuntimeError):
        with store.begin() as session:
            session.execute(insert(things).values(id="lost"))
            add_to_outbox(session, outbox, rolled_back, topic=topic)
            raise RuntimeError("the state change failed after the event was queued")

    producer = make_producer(kafka_bootstrap, client_id="outbox-test")
    await producer.start()
    try:
        assert await OutboxRelay(store, outbox, producer).run_once() == 1
        assert await OutboxRelay(store, outbox, producer).run_once() == 0
    finally:
        await producer.stop()

    records = await read_all(kafka_bootstrap, topic, expected=1, timeout_s=15)
    assert [json.loads(r.value)["id"] for r in records] == [str(committed.id)]
    assert records[0].key == str(committed.subject).encode()
    with store() as session:
        assert session.scalar(select(func.count()).select_from(things)) == 1


async def test_rows_are_published_in_order_per_child(store, kafka_bootstrap, fresh_topic):
    topic = await fresh_topic("outbox-order")
    children = [uuid4() for _ in range(5)]
    sent = []
    for i in range(100):
        envelope = concern(children[i % 5])
        sent.append(envelope)
        with store.begin() as session:
            add_to_outbox(session, outbox, envelope, topic=topic)
    producer = make_producer(kafka_bootstrap, client_id="outbox-order-test")
    await producer.start()
    try:
        relay = OutboxRelay(store, outbox, producer, batch_size=30)
        while await relay.run_once():
            pass
    finally:
        await producer.stop()
    records = await read_all(kafka_bootstrap, topic, expected=100)
    for child in children:
        want = [str(e.id) for e in sent if e.subject == child]
        got = [json.loads(r.value)["id"] for r in records if r.key == str(child).encode()]
        assert got == want


async def test_a_row_committed_while_the_relay_runs_a_round_is_published_without_waiting_to_poll(
    store, kafka_bootstrap, fresh_topic
):
    """The wake-up of a commit made while a round runs (after its fetch) wakes the next round:
    the row does not wait out the poll interval (30 s here)."""
    topic = await fresh_topic("outbox-wakeup")
    first, second = concern(uuid4()), concern(uuid4())
    producer = make_producer(kafka_bootstrap, client_id="outbox-wakeup-test")
    await producer.start()
    stop = asyncio.Event()
    relay = OutboxRelay(store, outbox, producer, poll_interval_s=30)

    def commit(envelope) -> None:
        with store.begin() as session:
            add_to_outbox(session, outbox, envelope, topic=topic)

    fetch_unsent = relay._fetch_unsent
    committed_during_a_round: list = []

    def fetch_then_commit_the_second():  # a request handler commits just after the round's fetch
        rows = fetch_unsent()
        if rows and not committed_during_a_round:
            commit(second)
            committed_during_a_round.append(second)
            relay._loop.call_soon_threadsafe(relay.notify)
        return rows

    relay._fetch_unsent = fetch_then_commit_the_second  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.3)  # started: its first round found nothing, it waits to be woken
        commit(first)
        relay.notify()
        records = await read_all(kafka_bootstrap, topic, expected=2, timeout_s=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()
    assert sorted(json.loads(r.value)["id"] for r in records) == sorted([str(first.id), str(second.id)])


async def test_a_broker_stopped_mid_relay_loses_no_committed_row(store, disposable_broker):
    bootstrap = disposable_broker.bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("relay-outage", num_partitions=3, replication_factor=1)])
    await admin.close()

    envelopes = [concern(uuid4()) for _ in range(400)]
    for envelope in envelopes:
        with store.begin() as session:
            add_to_outbox(session, outbox, envelope, topic="relay-outage")

    producer = make_producer(bootstrap, client_id="outbox-outage-test")
    await producer.start()
    stop = asyncio.Event()
    relay = OutboxRelay(store, outbox, producer, batch_size=20, poll_interval_s=0.05, max_backoff_s=1.0)
    task = asyncio.create_task(relay.run(stop))

    def unsent() -> int:
        with store() as session:
            return session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))

    try:
        while unsent() == len(envelopes):  # let the relay get going, then pull the broker away
            await asyncio.sleep(0.01)
        await asyncio.to_thread(disposable_broker.stop)
        stranded = unsent()
        assert stranded > 0, "the broker should stop while rows are still waiting"
        await asyncio.sleep(3)
        await asyncio.to_thread(disposable_broker.start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while unsent() and loop.time() < deadline:
            await asyncio.sleep(0.2)
        assert unsent() == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()

    records = await read_all(bootstrap, "relay-outage", expected=len(envelopes))
    seen = {json.loads(r.value)["id"] for r in records}  # the consumer de-duplicates by event id
    assert seen == {str(e.id) for e in envelopes}


async def test_two_relays_on_one_postgresql_database_publish_each_row_once(postgres_url, kafka_bootstrap, fresh_topic):
    engine = make_engine(postgres_url)
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    topic = await fresh_topic("outbox-replicas")
    envelopes = [concern(uuid4()) for _ in range(200)]
    producer = make_producer(kafka_bootstrap, client_id="outbox-replicas-test")
    await producer.start()
    stop = asyncio.Event()
    relays = [OutboxRelay(sessions, outbox, producer, batch_size=10, poll_interval_s=0.02) for _ in range(2)]
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    try:
        for envelope in envelopes:  # rows keep arriving while both replicas run
            with sessions.begin() as session:
                add_to_outbox(session, outbox, envelope, topic=topic)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            with sessions() as session:
                if not session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))):
                    break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await producer.stop()
        engine.dispose()
    ids = [json.loads(r.value)["id"] for r in await read_all(kafka_bootstrap, topic, expected=len(envelopes))]
    assert sorted(ids) == sorted(str(e.id) for e in envelopes)  # every row, none twice


def test_an_event_too_large_for_the_broker_is_refused_before_it_can_block_the_relay(store):
    from schemas.catalogue import make_envelope
    from schemas.events.referrals import SLTReportShared
    from services.common.errors import Invalid
    from services.common.outbox import MAX_EVENT_BYTES

    from .support import SETTING

    huge = make_envelope(
        SLTReportShared(report_id=uuid4(), assessment_summary="s", programme="p",
                        recommendations=tuple("x" * 3000 for _ in range(MAX_EVENT_BYTES // 3000 + 1))),
        subject=uuid4(), actor=SETTING, source="/tac/tests",
    )
    with pytest.raises(Invalid) as refused:
        with store.begin() as session:
            add_to_outbox(session, outbox, huge)
    assert refused.value.field == "body"
    with store() as session:
        assert session.scalar(select(func.count()).select_from(outbox)) == 0
