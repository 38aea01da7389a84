"""Composition of the consent service: the only place real adapters are built.

`build_app(settings)` returns the FastAPI app; its lifespan (services.common.runtime) runs the
migrations, then starts the Kafka producer, the outbox relay (publishing to tac.consent.v1),
the consumer of the team events on tac.referrals.v1 (this service's copy of each child's
setting and team) and the expiry task, and stops them in reverse order. Nothing connects at
import time.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from collections.abc import Sequence

from fastapi import FastAPI

from consent_policy.holds import Hold
from schemas import topics
from schemas.envelope import EnvelopeBase
from services.common.clock import Clock, utc_now
from services.common.db import make_snapshot_factory
from services.common.directory import Directory
from services.common.kafka import envelope_consumer
from services.common.outbox import wait_published
from services.common.runtime import ServiceRuntime
from services.common.web import create_app
from services.consent.adapters import store
from services.consent.config import ConsentSettings
from services.consent.entrypoints import api
from services.consent.entrypoints.expiry_task import ExpiryTask
from services.consent.service_layer import handlers
from services.consent.service_layer.unit_of_work import Deps

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def build_app(settings: ConsentSettings, *, clock: Clock = utc_now, directory: Directory | None = None) -> FastAPI:
    """`directory`: the organisation directory; default the file at settings.directory_path
    (read now, so a missing or malformed file fails at start)."""
    runtime = ServiceRuntime(settings, service="consent", client_id="tac-consent")
    deps = Deps(sessions=runtime.sessions, clock=clock, consent_topic=settings.consent_topic,
                directory=directory if directory is not None else Directory.load(settings.directory_path),
                max_consent_months=settings.max_consent_months, on_commit=runtime.committed,
                await_published=(partial(wait_published, make_snapshot_factory(runtime.engine), store.outbox,
                                         timeout_s=settings.withdrawal_publish_wait_s)
                                 if settings.run_outbox_relay and settings.withdrawal_publish_wait_s > 0
                                 else lambda _event_id: True))

    async def on_referrals_event(envelope: EnvelopeBase) -> None:
        await asyncio.to_thread(handlers.record_referrals_event, deps, envelope)

    async def hold(holds: Sequence[Hold]) -> None:
        await asyncio.to_thread(handlers.hold_children, deps, holds)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with runtime.running(MIGRATIONS, producer=settings.run_outbox_relay or settings.run_children_consumer):
            if settings.run_outbox_relay:
                app.state.relay = runtime.start_relay(store.outbox)
            if settings.run_children_consumer:
                app.state.children_consumer = await runtime.start_consumer("children_consumer", envelope_consumer(
                    bootstrap=settings.kafka_bootstrap_servers, topics={settings.referrals_topic: topics.REFERRALS},
                    group_id=settings.children_group_id, handler=on_referrals_event, hold=hold, producer=runtime.producer,
                    consumer_name="tac-consent-children", deadletter_topic=settings.deadletter_topic,
                ))
            if settings.run_expiry_task:
                app.state.expiry = expiry = ExpiryTask(deps, interval_s=settings.expiry_interval_s)
                runtime.run("consent_expiry", expiry.run)
            yield

    app = create_app(title="TAC consent", service="consent", settings=settings, routers=[api.router],
                     lifespan=lifespan)
    app.state.consent_deps = deps
    app.state.readiness = runtime.ready
    return app
