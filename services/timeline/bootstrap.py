"""The one place that builds real adapters and composes the timeline process:

    uvicorn ─ FastAPI app ─ lifespan: migrations → producer → outbox relay → Faust (faust_lifespan)

One process, one event loop: the Faust agent ingests, FastAPI answers reads, and the outbox
relay publishes TimelineViewed, all sharing one store and one idempotent producer. Database
work runs in worker threads so none of the three blocks the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import faust
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faust.contrib.asgi import faust_lifespan
from sqlalchemy import Engine, text

from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.directory import Directory
from services.common.kafka import make_producer, send_to_deadletter
from services.common.kafka_admin import wait_for_broker
from services.common.outbox import OutboxRelay
from services.common.tasks import supervise
from services.common.web import create_app
from services.timeline import api, store
from services.timeline.api import Clock, utc_now
from services.timeline.config import TimelineSettings
from services.timeline.handlers import BatchIngestor, Incoming
from services.timeline.worker import build_faust_app

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


@dataclass
class Timeline:
    settings: TimelineSettings
    engine: Engine
    store: store.TimelineStore
    ingestor: BatchIngestor
    faust_app: faust.App
    app: FastAPI
    # Made in the lifespan: aiokafka clients must be created on the running loop.
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None

    async def dead_letter(self, message: Incoming, reason: str) -> None:
        if self.producer is None:
            raise RuntimeError("the producer is not started")
        await send_to_deadletter(
            self.producer,
            raw=message.value,
            key=message.key,
            reason=reason,
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            consumer=self.settings.consumer_group,
            topic=self.settings.deadletter_topic,
        )

    def view_recorded(self) -> None:
        """A TimelineViewed row was committed to the outbox: publish it now, not at next poll."""
        if self.relay is not None:
            self.relay.notify()


def build(settings: TimelineSettings, *, clock: Clock = utc_now) -> Timeline:
    """Everything wired, nothing connected: connections open in the app's lifespan."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    timeline_store = store.TimelineStore(sessions)
    timeline: Timeline

    async def dead_letter(message: Incoming, reason: str) -> None:
        await timeline.dead_letter(message, reason)

    ingestor = BatchIngestor(timeline_store, dead_letter, is_transient=store.is_transient)
    faust_app = build_faust_app(settings, ingestor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations:
            await asyncio.to_thread(run_migrations, settings.database_url, MIGRATIONS)
        await wait_for_broker(settings.kafka_bootstrap_servers, timeout_s=settings.broker_wait_s)
        producer = make_producer(settings.kafka_bootstrap_servers, client_id=f"{settings.consumer_group}-producer")
        await producer.start()
        relay = OutboxRelay(
            sessions,
            store.outbox,
            producer,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
        )
        timeline.producer, timeline.relay = producer, relay
        stop = asyncio.Event()
        relay_task = (
            asyncio.create_task(supervise("outbox_relay", lambda: relay.run(stop), stop), name="timeline-outbox-relay") if settings.run_relay else None
        )
        try:
            async with faust_lifespan(faust_app)(app):
                yield
        finally:
            stop.set()
            if relay_task is not None:
                await relay_task
            await producer.stop()
            timeline.producer = timeline.relay = None
            engine.dispose()

    def view_recorded() -> None:
        timeline.view_recorded()

    router = api.build_router(
        timeline_store, audit_topic=settings.audit_topic, on_view_recorded=view_recorded, clock=clock,
        directory=Directory.load(settings.directory_path),
    )
    app = create_app(title="TAC timeline", service="timeline", settings=settings, routers=[router], lifespan=lifespan)

    def ready() -> bool:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return faust_app.started and timeline.producer is not None

    app.state.readiness = ready
    timeline = Timeline(settings, engine, timeline_store, ingestor, faust_app, app)
    return timeline
