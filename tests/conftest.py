"""Fixtures every test level shares: the real broker, fresh databases on SQLite and
PostgreSQL, and fresh topics. `make test` starts Kafka and PostgreSQL, so nothing here skips:
a missing broker or database is a failure, not a skip."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# TAC_ENVIRONMENT defaults to production (fail safe); the tests run the services for
# development (the dev key pair, plain http), so they say so, whatever the shell has.
os.environ["TAC_ENVIRONMENT"] = "development"

KAFKA_BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
POSTGRES_URL = os.environ.get("TAC_TEST_POSTGRES_URL", "postgresql+psycopg://tac:tac@127.0.0.1:5432/tac_test")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The real broker. Fails (never skips) when it does not answer: run `make kafka-up`."""
    from services.common.kafka_admin import wait_for_broker

    try:
        asyncio.run(wait_for_broker(KAFKA_BOOTSTRAP, timeout_s=30))
    except TimeoutError as exc:
        pytest.fail(f"Kafka is not reachable at {KAFKA_BOOTSTRAP} ({exc}); `make test` starts it, or run `make kafka-up`")
    return KAFKA_BOOTSTRAP


@pytest.fixture
async def fresh_topic(kafka_bootstrap: str):
    """Factory: `await fresh_topic("timeline-in")` creates a new, empty topic with 6 partitions."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tac-tests")
    await admin.start()
    created: list[str] = []

    async def make(prefix: str = "test", partitions: int = 6) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:12]}"
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        created.append(name)
        await _wait_for_leaders(kafka_bootstrap, name)
        return name

    try:
        yield make
    finally:
        try:
            if created:
                await admin.delete_topics(created)
        finally:
            await admin.close()


async def _wait_for_leaders(bootstrap: str, topic: str, timeout_s: float = 20.0) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            await consumer._client.force_metadata_update()
            parts = consumer._client.cluster.partitions_for_topic(topic) or set()
            if parts and all(consumer._client.cluster.leader_for_partition(_tp(topic, p)) is not None for p in parts):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"topic {topic} has no leaders after {timeout_s}s")
    finally:
        await consumer.stop()


def _tp(topic: str, partition: int):
    from aiokafka import TopicPartition

    return TopicPartition(topic, partition)


def _fresh_postgres_database() -> Iterator[str]:
    admin_url = make_url(POSTGRES_URL)
    name = f"tac_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - turn a connection error into a clear failure
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); `make test` starts it, or run `make pg-up`")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: the same store test runs once on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _fresh_postgres_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for behaviour only PostgreSQL has (advisory locks)."""
    yield from _fresh_postgres_database()
