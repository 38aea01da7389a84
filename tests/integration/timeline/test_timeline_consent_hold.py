"""A consent event the timeline cannot apply for a while holds its partition, and only that one:
the batch consumer (services.common.batch_consumer) keeps applying and committing the other
partitions, retries the stuck event
until it applies (never dead-lettering it), and /ready and consent_apply_stuck_seconds say so
meanwhile. Also: /ready is 503 while the database refuses connections, and 200 once it is back.
Real broker, real databases."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.timeline.bootstrap import build
from tests.integration.timeline.conftest import GatedStore, read_topic, timeline_settings, until
from tests.unit.timeline.timeline_builders import concern, envelope, granted_payload, withdrawn

STUCK_PARTITION = 0


async def committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()


def stuck_seconds(consumer: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value("consent_apply_stuck_seconds",
                                     {"consumer": consumer, "topic": topic, "partition": str(partition)})


async def test_a_consent_event_failing_for_a_while_is_retried_until_applied_while_other_partitions_flow(
    kafka_bootstrap, database_url, timeline_topics, tmp_path
):
    settings = timeline_settings(kafka_bootstrap, database_url, timeline_topics, tmp_path / "faust",
                                 ready_stuck_consent_s=0.5)
    timeline = build(settings)
    child = uuid4()
    grant = envelope(granted_payload(), child)
    withdrawal = withdrawn(child, grant.data.consent_id)  # same child, same partition: after the grant
    gated = GatedStore(timeline.store, grant)
    timeline.ingestor.sink = gated  # the fault is injected at the sink, a whole adapter swapped
    others = {partition: (envelope(granted_payload(), uuid4()), concern(uuid4())) for partition in range(1, 6)}
    group, consent = settings.consumer_group, timeline_topics.consent

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        async with timeline.app.router.lifespan_context(timeline.app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timeline.app), base_url="http://t") as client:
                async def ready_status() -> int:
                    return (await client.get("/ready")).status_code

                await until(lambda: _is(ready_status, 200), what="the timeline to be ready")
                for event in (grant, withdrawal):
                    await producer.send_and_wait(consent, event.to_json_bytes(), key=event.key,
                                                 partition=STUCK_PARTITION)
                for partition, (consent_event, referral_event) in others.items():
                    await producer.send_and_wait(consent, consent_event.to_json_bytes(), key=consent_event.key,
                                                 partition=partition)
                    await producer.send_and_wait(timeline_topics.referrals, referral_event.to_json_bytes(),
                                                 key=referral_event.key, partition=partition)
                other_ids = {e.id for pair in others.values() for e in pair}

                # While the grant fails, every other partition is applied and its offset committed.
                await until(lambda: _true(other_ids <= set(gated.applied)), what="the other partitions applied")
                await until(lambda: _true(gated.failures >= 3), what="the grant retried a few times")
                assert grant.id not in gated.applied and withdrawal.id not in gated.applied
                await until(lambda: _other_partitions_committed(kafka_bootstrap, group, consent),
                            what="the other consent partitions committed")
                assert (consent, STUCK_PARTITION) not in await committed(kafka_bootstrap, group)
                assert stuck_seconds(group, consent, STUCK_PARTITION) > 0
                await until(lambda: _is(ready_status, 503), what="/ready to say the partition is stuck")
                problem = (await client.get("/ready")).json()
                assert list(problem["failing"]) == ["consent"] and f"{consent}[{STUCK_PARTITION}]" in problem["detail"]

                gated.open()
                await until(lambda: _true(withdrawal.id in gated.applied), what="the grant, then the withdrawal")
                assert gated.attempts == gated.failures + 1  # applied on the first try after the fault cleared
                applied = gated.applied
                assert applied.index(grant.id) < applied.index(withdrawal.id)
                assert all(applied.index(other) < applied.index(grant.id) for other in other_ids)
                assert stuck_seconds(group, consent, STUCK_PARTITION) == 0
                await until(lambda: _is(ready_status, 200), what="/ready to recover")
                await until(lambda: _committed_at(kafka_bootstrap, group, (consent, STUCK_PARTITION), 2),
                            what="the held partition committed past both events")
    finally:
        await producer.stop()
    assert await read_topic(kafka_bootstrap, timeline_topics.deadletter, expected=0, timeout_s=1) == []
    assert timeline.ingestor.stats.dead_lettered == 0
    stored = timeline.store.count_processed()
    assert stored == 2 + len(other_ids)  # each event once


async def test_ready_is_503_while_the_database_refuses_connections_and_200_when_it_is_back(
    kafka_bootstrap, postgres_url, timeline_topics, tmp_path
):
    settings = timeline_settings(kafka_bootstrap, postgres_url, timeline_topics, tmp_path / "faust")
    timeline = build(settings)
    name = make_url(postgres_url).database
    admin = create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def allow_connections(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:  # and drop the ones the service holds, so its next use must reconnect
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})

    try:
        async with timeline.app.router.lifespan_context(timeline.app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timeline.app), base_url="http://t") as client:
                async def ready_status() -> int:
                    return (await client.get("/ready")).status_code

                await until(lambda: _is(ready_status, 200), what="the timeline to be ready")
                await asyncio.to_thread(allow_connections, False)
                await until(lambda: _is(ready_status, 503), what="/ready to notice the database is gone")
                problem = (await client.get("/ready")).json()
                assert "database" in problem["failing"] and problem["status"] == 503

                await asyncio.to_thread(allow_connections, True)
                await until(lambda: _is(ready_status, 200), what="/ready to recover by itself")
    finally:
        await asyncio.to_thread(allow_connections, True)
        admin.dispose()


async def _is(status, expected: int) -> bool:
    return await status() == expected


async def _true(value: bool) -> bool:
    return value


async def _other_partitions_committed(bootstrap: str, group: str, topic: str) -> bool:
    offsets = await committed(bootstrap, group)
    return all(offsets.get((topic, partition), 0) >= 1 for partition in range(1, 6))


async def _committed_at(bootstrap: str, group: str, tp: tuple[str, int], offset: int) -> bool:
    return (await committed(bootstrap, group)).get(tp, 0) >= offset



async def test_the_service_stops_while_a_consent_partition_is_stuck_and_the_event_is_read_again_after(
    kafka_bootstrap, sqlite_url, timeline_topics, tmp_path
):
    # The stop must not wait for the held event to apply (forever), nor commit past it.
    settings = timeline_settings(kafka_bootstrap, sqlite_url, timeline_topics, tmp_path / "faust")
    grant = envelope(granted_payload(), uuid4())
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        first = build(settings)
        gated = GatedStore(first.store, grant)
        first.ingestor.sink = gated
        lifespan = first.app.router.lifespan_context(first.app)
        await lifespan.__aenter__()
        try:
            await producer.send_and_wait(timeline_topics.consent, grant.to_json_bytes(), key=grant.key, partition=0)
            await until(lambda: _true(gated.failures >= 2), what="the grant to be stuck")
        finally:
            await asyncio.wait_for(lifespan.__aexit__(None, None, None), 60)
        assert grant.id not in gated.applied

        # Restarted with the fault cleared: the stuck event was never committed, so it is read again.
        second = build(settings)
        async with second.app.router.lifespan_context(second.app):
            await until(lambda: _true(second.store.count_processed() == 1), what="the grant applied after restart")
    finally:
        await producer.stop()
    assert await read_topic(kafka_bootstrap, timeline_topics.deadletter, expected=0, timeout_s=1) == []
