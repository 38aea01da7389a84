"""Composition of the referrals service: the only place real adapters are built.

`build_app(settings)` loads the organisation directory (settings.directory_path) and returns
the FastAPI app; its lifespan runs the migrations, then starts
the Kafka producer, the outbox relay (publishing to tac.referrals.v1), the consumer of
tac.consent.v1 that keeps this service's consent copy and the task announcing integrated
review windows, each supervised, and stops them in reverse order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.directory import Directory
from services.common.kafka import EnvelopeConsumer, make_producer
from services.common.outbox import OutboxRelay
from services.common.tasks import stop_all, supervise
from services.common.web import create_app
from services.referrals.adapters import tables
from services.referrals.config import ReferralsSettings
from services.referrals.entrypoints import caseloads, children, ehc, referrals, reviews, team, transition
from services.referrals.entrypoints.consent_consumer import consent_consumer
from services.referrals.entrypoints.review_window_task import ReviewWindowTask
from services.referrals.service_layer.unit_of_work import Deps, system_clock

ROUTERS = [module.router for module in (children, referrals, team, reviews, ehc, transition, caseloads)]

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def build_app(settings: ReferralsSettings, *, clock: Callable[[], datetime] = system_clock) -> FastAPI:
    engine = make_engine(settings.database_url)  # lazy: nothing connects until first use
    sessions = make_session_factory(engine)
    # The organisation directory is configuration: a missing or malformed file fails at start.
    directory = Directory.load(settings.directory_path)
    deps = Deps(sessions=sessions, clock=clock, targets=settings.targets(), referrals_topic=settings.referrals_topic,
                directory=directory, invitation_expiry_days=settings.invitation_expiry_days,
                # Without the consumer nothing will arrive to catch up with: refuse at once.
                consent_catch_up_s=settings.consent_catch_up_s if settings.run_consent_consumer else 0.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(run_migrations, settings.database_url, MIGRATIONS)
        producer = None
        if settings.run_outbox_relay or settings.run_consent_consumer:
            producer = make_producer(settings.kafka_bootstrap_servers, client_id="tac-referrals")
            await producer.start()
        stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        consumer: EnvelopeConsumer | None = None
        try:
            if settings.run_outbox_relay:
                relay = OutboxRelay(sessions, tables.outbox, producer)
                deps.on_commit = relay.notify  # safe from the worker threads handlers commit in
                app.state.relay = relay
                tasks.append(asyncio.create_task(supervise("outbox_relay", lambda: relay.run(stop), stop)))
            if settings.run_consent_consumer:
                consumer = consent_consumer(settings, sessions, producer)
                await consumer.start()
                app.state.consent_consumer = consumer
                tasks.append(asyncio.create_task(supervise("consent_consumer", lambda: consumer.run(stop), stop)))
            if settings.run_review_window_task:
                review_window = ReviewWindowTask(deps, interval_s=settings.review_window_interval_s)
                app.state.review_window = review_window
                tasks.append(asyncio.create_task(supervise("review_window", lambda: review_window.run(stop), stop)))
            yield
        finally:
            deps.on_commit = lambda: None
            await stop_all(stop, tasks)
            if consumer is not None:
                await consumer.stop()
            if producer is not None:
                await producer.stop()
            engine.dispose()

    app = create_app(title="TAC referrals", service="referrals", settings=settings,
                     routers=ROUTERS, lifespan=lifespan)
    app.state.deps = deps

    def ready() -> bool:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    app.state.readiness = ready
    return app
