"""Composition of the referrals service: the only place real adapters are built.

`build_app(settings)` loads the organisation directory (settings.directory_path) and returns
the FastAPI app, composed as every service is (services.common.runtime): its lifespan runs the
migrations, then starts the Kafka producer, the outbox relay (publishing to tac.referrals.v1),
the consumer of tac.consent.v1 that keeps this service's consent copy and the task announcing
integrated review windows, each supervised, and stops them in reverse order."""

from __future__ import annotations

from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.common.clock import Clock, utc_now
from services.common.db import make_snapshot_factory
from services.common.directory import Directory
from services.common.outbox import wait_published
from services.common.runtime import ServiceRuntime
from services.common.web import create_app
from services.referrals.adapters import tables
from services.referrals.config import ReferralsSettings
from services.referrals.entrypoints import caseloads, children, ehc, referrals, reviews, team, transition
from services.referrals.entrypoints.consent_consumer import consent_consumer
from services.referrals.entrypoints.review_window_task import ReviewWindowTask
from services.referrals.service_layer.unit_of_work import Deps, transactions_of

ROUTERS = [module.router for module in (children, referrals, team, reviews, ehc, transition, caseloads)]
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def build_app(settings: ReferralsSettings, *, clock: Clock = utc_now) -> FastAPI:
    runtime = ServiceRuntime(settings, service="referrals", client_id="tac-referrals")  # lazy: connects on first use
    transactions = transactions_of(runtime.sessions, clock=clock, topic=settings.referrals_topic,
                                   on_commit=runtime.committed)  # the relay, woken from the worker threads
    # The organisation directory is configuration: a missing or malformed file fails at start.
    deps = Deps(sessions=runtime.sessions, transactions=transactions, clock=clock, targets=settings.targets(),
                directory=Directory.load(settings.directory_path),
                invitation_expiry_days=settings.invitation_expiry_days,
                # Without the consumer nothing will arrive to catch up with: refuse at once.
                consent_catch_up_s=settings.consent_catch_up_s if settings.run_consent_consumer else 0.0,
                await_published=(partial(wait_published, make_snapshot_factory(runtime.engine), tables.outbox,
                                         timeout_s=settings.team_departure_publish_wait_s)
                                 if settings.run_outbox_relay and settings.team_departure_publish_wait_s > 0
                                 else lambda _event_id: True))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with runtime.running(MIGRATIONS, producer=settings.run_outbox_relay or settings.run_consent_consumer):
            if settings.run_outbox_relay:
                app.state.relay = runtime.start_relay(tables.outbox)
            if settings.run_consent_consumer:
                app.state.consent_consumer = await runtime.start_consumer(
                    "consent_consumer", consent_consumer(settings, transactions, runtime.producer))
            if settings.run_review_window_task:
                app.state.review_window = ReviewWindowTask(deps, interval_s=settings.review_window_interval_s)
                runtime.run("review_window", app.state.review_window.run, task="review-window")
            yield

    app = create_app(title="TAC referrals", service="referrals", settings=settings, routers=ROUTERS, lifespan=lifespan)
    app.state.deps = deps
    app.state.readiness = runtime.ready
    return app
