"""A running timeline service for broker tests: fresh topics and consumer group, a fresh
database (SQLite and PostgreSQL), the FastAPI app with its lifespan (Faust agent, outbox relay)
on the test's event loop, and helpers to produce, wait and read."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from pathlib import Path
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.envelope import Actor, EnvelopeBase
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.timeline.adapters.store import TimelineStore
from tests.integration.common.support import until  # noqa: F401 - the timeline tests import it from here
from services.timeline.bootstrap import Timeline, build
from services.timeline.config import TimelineSettings


@dataclass
class Topics:
    referrals: str
    consent: str
    audit: str
    deadletter: str


@pytest.fixture
async def timeline_topics(fresh_topic) -> Topics:
    return Topics(
        referrals=await fresh_topic("tl-referrals"),
        consent=await fresh_topic("tl-consent"),
        audit=await fresh_topic("tl-audit"),
        deadletter=await fresh_topic("tl-deadletter"),
    )


TEST_DIRECTORY = Path(__file__).with_name("organisations.yaml")


def timeline_settings(kafka_bootstrap: str, database_url: str, topics: Topics, datadir, **extra) -> TimelineSettings:
    return TimelineSettings(
        environment="test",
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=database_url,
        referrals_topic=topics.referrals,
        consent_topic=topics.consent,
        audit_topic=topics.audit,
        deadletter_topic=topics.deadletter,
        consumer_group=f"tl-test-{uuid.uuid4().hex[:10]}",
        datadir=datadir,
        batch_within_s=0.05,
        commit_interval_s=0.5,
        session_timeout_s=6,
        relay_poll_interval_s=0.05,
        directory_path=TEST_DIRECTORY,
        **extra,
    )


def token_for(settings: TimelineSettings, actor: Actor, children=()) -> str:
    return issue_token(
        dev_private_key_pem(),
        practitioner=actor.practitioner_id,
        organisation=actor.organisation_id,
        agency=actor.agency,
        role=actor.role,
        children=children,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


class Harness:
    def __init__(self, timeline: Timeline, client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: Topics):
        self.timeline = timeline
        self.settings = timeline.settings
        self.client = client
        self.producer = producer
        self.topics = topics

    async def publish(self, *events: EnvelopeBase) -> None:
        for event in events:
            topic = self.topics.consent if event.type.startswith("tac.consent.") else self.topics.referrals
            await self.producer.send_and_wait(topic, event.to_json_bytes(), key=event.key)

    async def publish_raw(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        await self.producer.send_and_wait(topic, value, key=key)

    async def until(self, condition: Callable[[], bool], *, timeout_s: float = 30.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout_s
        while not await asyncio.to_thread(condition):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
            await asyncio.sleep(0.05)

    async def until_processed(self, n: int, timeout_s: float = 30.0) -> None:
        store = self.timeline.store
        await self.until(lambda: store.count_processed() >= n, timeout_s=timeout_s, what=f"{n} processed events")

    async def timeline_of(self, actor: Actor, child: uuid.UUID, *, children=(), **params) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token_for(self.settings, actor, children)}"}
        return await self.client.get(f"/children/{child}/timeline", headers=headers, params=params)

    async def access_log_of(self, actor: Actor, child: uuid.UUID, *, children=()) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token_for(self.settings, actor, children)}"}
        return await self.client.get(f"/children/{child}/access-log", headers=headers)


async def read_topic(bootstrap: str, topic: str, *, expected: int, timeout_s: float = 30.0) -> list:
    """Everything on `topic` from the start (a fresh group), once `expected` records have come
    or the time is up, plus one more short poll so extra records are seen too."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            for part in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(part)
        for part in (await consumer.getmany(timeout_ms=700)).values():
            records.extend(part)
    finally:
        await consumer.stop()
    return records


@pytest.fixture
async def running(kafka_bootstrap, database_url, timeline_topics, tmp_path) -> AsyncIterator[Harness]:
    settings = timeline_settings(kafka_bootstrap, database_url, timeline_topics, tmp_path / "faust")
    timeline = build(settings)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        async with timeline.app.router.lifespan_context(timeline.app):
            transport = httpx.ASGITransport(app=timeline.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://timeline") as client:
                yield Harness(timeline, client, producer, timeline_topics)
    finally:
        await producer.stop()


def service_env(settings: TimelineSettings) -> dict[str, str]:
    """The environment that makes `python -m services.timeline` run with `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAC_TIMELINE_")}
    env.update(
        TAC_ENVIRONMENT=settings.environment,
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        TAC_TIMELINE_DATABASE_URL=settings.database_url,
        TAC_TIMELINE_PORT=str(settings.port),
        TAC_TIMELINE_REFERRALS_TOPIC=settings.referrals_topic,
        TAC_TIMELINE_CONSENT_TOPIC=settings.consent_topic,
        TAC_TIMELINE_AUDIT_TOPIC=settings.audit_topic,
        TAC_TIMELINE_DEADLETTER_TOPIC=settings.deadletter_topic,
        TAC_TIMELINE_CONSUMER_GROUP=settings.consumer_group,
        TAC_TIMELINE_DATADIR=str(settings.datadir),
        TAC_TIMELINE_BATCH_WITHIN_S=str(settings.batch_within_s),
        TAC_TIMELINE_COMMIT_INTERVAL_S=str(settings.commit_interval_s),
        TAC_TIMELINE_SESSION_TIMEOUT_S=str(settings.session_timeout_s),
        TAC_LOG_LEVEL="WARNING",
        TAC_DIRECTORY_PATH=str(settings.directory_path),
    )
    return env


class GatedStore:
    """The timeline store, except that a batch holding `blocked` fails until `open()`: a fault
    at the sink, as a handler that raises would be. Records what was applied, in order."""

    def __init__(self, store: TimelineStore, blocked: EnvelopeBase) -> None:
        self._store = store
        self._blocked = blocked.id
        self._gate = threading.Event()
        self._lock = threading.Lock()
        self.failures = 0
        self.attempts = 0
        self.applied: list = []

    def open(self) -> None:
        self._gate.set()

    def ingest(self, batch):
        with self._lock:
            if any(item.id == self._blocked for item in batch):
                self.attempts += 1
                if not self._gate.is_set():
                    self.failures += 1
                    raise RuntimeError("simulated failure applying the consent event")
        result = self._store.ingest(batch)
        with self._lock:
            self.applied.extend(item.id for item in batch)
        return result
