"""The one place that builds real adapters and composes the timeline process:

    uvicorn ─ FastAPI app ─ lifespan: migrations → producer → outbox relay → batch consumer

One process, one event loop: the batch consumer ingests (services.common.batch_consumer: a
whole fetch per transaction, which the Faust agent it replaced could not keep up with),
FastAPI answers reads, and the outbox relay publishes TimelineViewed, all sharing one store
and one idempotent producer. Database work runs in worker threads so none of the three blocks
the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from services.common.batch_consumer import BatchConsumer
from services.common.clock import Clock, utc_now
from services.common.consent_freshness import ConsentCopyFreshness
from services.common.directory import Directory
from services.common.kafka import dead_letter_to
from services.common.db import is_transient
from services.common.pipeline import BatchIngestor
from services.common.runtime import ServiceRuntime
from services.common.web import create_app
from services.timeline.adapters.store import TimelineStore
from services.timeline.adapters.tables import outbox
from services.timeline.config import TimelineSettings
from services.timeline.entrypoints import api
from services.timeline.entrypoints.worker import CONSENT_COPY_BEHIND, build_consumer

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


@dataclass
class Timeline:
    settings: TimelineSettings
    runtime: ServiceRuntime
    store: TimelineStore
    ingestor: BatchIngestor
    consumer: BatchConsumer
    app: FastAPI


def build(settings: TimelineSettings, *, clock: Clock = utc_now) -> Timeline:
    """Everything wired, nothing connected: connections open in the app's lifespan."""
    runtime = ServiceRuntime(settings, service="timeline", client_id=f"{settings.consumer_group}-producer")
    store = TimelineStore(runtime.sessions, clock=clock)
    ingestor = BatchIngestor(
        store, dead_letter_to(lambda: runtime.producer, consumer=settings.consumer_group,
                              topic=settings.deadletter_topic),
        is_transient=is_transient, consumer=settings.consumer_group,
    )
    # A read waits until the copy holds what the consent topic holds (a withdrawal answered a
    # moment ago) and what the child's partition of the referrals topic holds (a removal from
    # the team): of that topic, which carries every case fact too, only the child's partition.
    freshness = ConsentCopyFreshness(settings.kafka_bootstrap_servers, group_id=settings.consumer_group,
                                     topics=(settings.consent_topic,), keyed_topics=(settings.referrals_topic,),
                                     client_id=f"{settings.consumer_group}-freshness",
                                     behind_gauge=CONSENT_COPY_BEHIND, waiting="timeline reads answer 503")
    consumer = build_consumer(settings, ingestor, on_applied=freshness.record,
                              on_assignment=freshness.consumed_here)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.running(MIGRATIONS if settings.run_migrations else None,
                                   broker_wait_s=settings.broker_wait_s):
            if settings.run_relay:
                runtime.start_relay(outbox, batch_size=settings.relay_batch_size,
                                    poll_interval_s=settings.relay_poll_interval_s)
            await freshness.start()
            try:
                await runtime.start_consumer("timeline_consumer", consumer)
                yield
            finally:
                await freshness.stop()

    router = api.build_router(
        store, audit_topic=settings.audit_topic, on_view_recorded=runtime.committed, clock=clock,
        directory=Directory.load(settings.directory_path), freshness=freshness,
        freshness_wait_s=settings.consent_copy_wait_s,
    )
    app = create_app(title="TAC timeline", service="timeline", settings=settings, routers=[router], lifespan=lifespan)
    # start_consumer watches the consumer's ingestor: its stuck consent partitions fail /ready
    runtime.readiness.add("stream", consumer.running)
    app.state.readiness = runtime.ready
    return Timeline(settings, runtime, store, ingestor, consumer, app)
