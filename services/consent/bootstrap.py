"""Composition of the consent service: the only place real adapters are built.

`build_app(settings)` returns the FastAPI app; its lifespan runs the migrations, then starts
the Kafka producer, the outbox relay (publishing to tac.consent.v1), the consumer of
ChildRegistered on tac.referrals.v1 (this service's copy of each child's setting) and the
expiry task, and stops them in reverse order. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from schemas.envelope import EnvelopeBase
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.directory import Directory
from services.common.kafka import EnvelopeConsumer, make_producer
from services.common.outbox import OutboxRelay
from services.common.tasks import stop_all, supervise
from services.common.web import create_app
from services.consent.adapters import store
from services.consent.config import ConsentSettings
from services.consent.entrypoints import api
from services.consent.entrypoints.expiry_task import ExpiryTask
from services.consent.service_layer import handlers
from services.consent.service_layer.unit_of_work import Deps, system_clock

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def build_app(settings: ConsentSettings, *, clock: Callable[[], datetime] = system_clock,
              directory: Directory | None = None) -> FastAPI:
    """`directory`: the organisation directory; default the file at settings.directory_path
    (read now, so a missing or malformed file fails at start)."""
    engine = make_engine(settings.database_url)  # lazy: nothing connects until first use
    sessions = make_session_factory(engine)
    deps = Deps(sessions=sessions, clock=clock, consent_topic=settings.consent_topic,
                directory=directory if directory is not None else Directory.load(settings.directory_path),
                max_consent_months=settings.max_consent_months)

    async def on_referrals_event(envelope: EnvelopeBase) -> None:
        await asyncio.to_thread(handlers.record_referrals_event, deps, envelope)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(run_migrations, settings.database_url, MIGRATIONS)
        producer = None
        if settings.run_outbox_relay or settings.run_children_consumer:
            producer = make_producer(settings.kafka_bootstrap_servers, client_id="tac-consent")
            await producer.start()
        stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        consumer: EnvelopeConsumer | None = None
        try:
            if settings.run_outbox_relay:
                relay = OutboxRelay(sessions, store.outbox, producer)
                deps.on_commit = relay.notify  # safe from the worker threads handlers commit in
                app.state.relay = relay
                tasks.append(asyncio.create_task(supervise("outbox_relay", lambda: relay.run(stop), stop)))
            if settings.run_children_consumer:
                consumer = EnvelopeConsumer(
                    bootstrap=settings.kafka_bootstrap_servers, topics=[settings.referrals_topic],
                    group_id=settings.children_group_id, handler=on_referrals_event, producer=producer,
                    consumer_name="tac-consent-children", deadletter_topic=settings.deadletter_topic,
                )
                await consumer.start()
                app.state.children_consumer = consumer
                tasks.append(asyncio.create_task(supervise("children_consumer", lambda: consumer.run(stop), stop)))
            if settings.run_expiry_task:
                expiry = ExpiryTask(deps, interval_s=settings.expiry_interval_s)
                app.state.expiry = expiry
                tasks.append(asyncio.create_task(supervise("consent_expiry", lambda: expiry.run(stop), stop)))
            yield
        finally:
            deps.on_commit = lambda: None
            await stop_all(stop, tasks)
            if consumer is not None:
                await consumer.stop()
            if producer is not None:
                await producer.stop()
            engine.dispose()

    app = create_app(title="TAC consent", service="consent", settings=settings, routers=[api.router],
                     lifespan=lifespan)
    app.state.consent_deps = deps

    def ready() -> bool:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    app.state.readiness = ready
    return app
