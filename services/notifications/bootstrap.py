"""The one place that builds real adapters and composes the notifications process:

    uvicorn ─ FastAPI app ─ lifespan: migrations → producer → outbox relay + delivery worker
                                      → batch consumer + reminder loop

One process, one event loop: the batch consumer records notifications, the reminder loop sends
due reminders, the delivery worker sends e-mails and webhooks, the relay publishes
NotificationSent/Failed, and FastAPI serves subscriptions and inboxes. Database work runs in
worker threads so none of them blocks the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import Clock, utc_now
from services.common.db import is_transient
from services.common.directory import Directory
from services.common.kafka import dead_letter_to, send_to_deadletter
from services.common.pipeline import BatchIngestor
from services.common.batch_consumer import BatchConsumer
from services.common.runtime import ServiceRuntime
from services.common.web import create_app
from services.notifications import metrics
from services.notifications.adapters import store
from services.common.consent_freshness import ConsentCopyFreshness
from services.notifications.adapters.channels import EmailChannel, SmtpConfig, WebhookChannel
from services.notifications.adapters.jobs import Job
from services.notifications.config import NotificationsSettings
from services.notifications.domain.retry import RetryPolicy
from services.notifications.entrypoints import api
from services.notifications.entrypoints.worker import build_consumer, reminder_loop
from services.notifications.service_layer import handlers
from services.notifications.service_layer.delivery import DeliveryWorker

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def smtp_config(settings: NotificationsSettings) -> SmtpConfig | None:
    if not settings.smtp_host:
        return None
    return SmtpConfig(
        host=settings.smtp_host, port=settings.smtp_port, starttls=settings.smtp_starttls, use_ssl=settings.smtp_ssl,
        username=settings.smtp_username,
        password=None if settings.smtp_password is None else settings.smtp_password.get_secret_value(),
        sender=settings.smtp_from, timeout_s=settings.smtp_timeout_s,
    )


def outputs(settings: NotificationsSettings, directory: Directory) -> handlers.Outputs:
    return handlers.Outputs(settings.timeline_public_url, settings.notifications_topic, settings.email_enabled,
                            settings.reminder_late_grace_days, settings.external_hold_s, directory)


@dataclass
class Notifications:
    settings: NotificationsSettings
    runtime: ServiceRuntime
    intake: BatchIngestor
    consumer: BatchConsumer
    app: FastAPI
    clock: Clock
    outputs: handlers.Outputs
    freshness: ConsentCopyFreshness
    # Made in `running()`: httpx clients must be created on the running loop.
    delivery: DeliveryWorker | None = None
    reminder_ticks: int = 0

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.sessions

    def committed(self) -> None:
        """New outbox rows or jobs were committed: publish and deliver now, not at next poll."""
        self.runtime.committed()

    async def send_due_reminders(self) -> int:
        told = await asyncio.to_thread(handlers.send_due_reminders, self.sessions, self.outputs, self.clock())
        self.reminder_ticks += 1
        if told:
            self.committed()
        return told

    @asynccontextmanager
    async def running(self) -> AsyncIterator["Notifications"]:
        """Migrate, connect, and run the consumer, the reminder loop, the delivery worker and
        the relay until the block exits."""
        s = self.settings
        async with httpx.AsyncClient(follow_redirects=False) as http, \
                self.runtime.running(MIGRATIONS if s.run_migrations else None, broker_wait_s=s.broker_wait_s):
            self.runtime.start_relay(store.outbox, batch_size=s.relay_batch_size,
                                     poll_interval_s=s.relay_poll_interval_s)
            await self.freshness.start()
            email = smtp_config(s)
            self.delivery = delivery = DeliveryWorker(
                self.sessions,
                email=None if email is None else EmailChannel(email),
                webhook=WebhookChannel(http, timeout_s=s.webhook_timeout_s, clock=self.clock, policy=s.webhook_policy),
                policy=RetryPolicy(s.retry_base_s, s.retry_max_s, s.max_attempts),
                notifications_topic=s.notifications_topic,
                dead_letter=self._dead_letter_job,
                clock=self.clock,
                concurrency=s.delivery_concurrency,
                lease_s=s.delivery_lease_s,
                poll_s=s.delivery_poll_s,
                attempt_timeout_s=max(s.smtp_timeout_s, s.webhook_timeout_s) + 5,
                on_outbox=self.committed,
                freshness=self.freshness,
                freshness_wait_s=s.consent_copy_wait_s,
            )
            # Supervised, like the relay: a loop that died silently would stop delivering while
            # /health still said all was well. In-flight deliveries finish when the runtime
            # stops, before the HTTP client closes.
            self.runtime.run("delivery_worker", delivery.run, task="delivery")
            self.runtime.on_committed.append(delivery.wakeup)
            try:
                await self.runtime.start_consumer("notifications_consumer", self.consumer)
                self.runtime.run("reminders", reminder_loop(s.reminder_interval_s, self.send_due_reminders))
                yield self
            finally:
                self.runtime.on_committed.remove(delivery.wakeup)
                self.delivery = None
                # Before the delivery loop stops, a round finding the client stopped sends
                # nothing (fail closed).
                await self.freshness.stop()

    async def _dead_letter_job(self, job: Job, reason: str) -> None:
        # The record points at the event that caused the notification (topic, partition,
        # offset) and carries the notification body that could not be delivered.
        if self.runtime.producer is None:
            raise RuntimeError("the producer is not started")
        await send_to_deadletter(self.runtime.producer, raw=job.body, key=str(job.about.child_id).encode(),
                                 reason=reason, source_topic=job.source.topic, partition=job.source.partition,
                                 offset=job.source.offset, consumer=f"{self.settings.consumer_group}-delivery",
                                 topic=self.settings.deadletter_topic)


def build(settings: NotificationsSettings, *, clock: Clock = utc_now) -> Notifications:
    """Everything wired, nothing connected: connections open in `running()`."""
    # Read once at start: a missing or malformed directory is a configuration error (fail now).
    directory = Directory.load(settings.directory_path)
    runtime = ServiceRuntime(settings, service="notifications", client_id=f"{settings.consumer_group}-producer")
    out = outputs(settings, directory)
    transactions = handlers.transactions(runtime.sessions, clock=clock, on_commit=runtime.committed)
    intake = BatchIngestor(
        # A transaction per UNIT_EVENTS events of a batch: each event can fan out to many inbox
        # items, jobs and outbox rows, so the HTTP routes' writes never wait behind a whole
        # batch on SQLite, while PostgreSQL commits once per unit, not once per event.
        handlers.bus(out).sink(transactions, unit_events=handlers.UNIT_EVENTS),
        dead_letter_to(lambda: runtime.producer, consumer=settings.consumer_group, topic=settings.deadletter_topic),
        is_transient=is_transient, permanent_attempts=settings.handler_attempts, consumer=settings.consumer_group,
    )
    service: Notifications

    # The consent copy is fed from both topics (consent; team changes on referrals).
    freshness = ConsentCopyFreshness(settings.kafka_bootstrap_servers, group_id=settings.consumer_group,
                                     topics=(settings.consent_topic, settings.referrals_topic),
                                     client_id=f"{settings.consumer_group}-freshness",
                                     behind_gauge=metrics.CONSENT_COPY_BEHIND,
                                     waiting="nothing is e-mailed, posted or shown")
    consumer = build_consumer(settings, intake, on_applied=freshness.record,
                              on_assignment=freshness.consumed_here)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            yield

    router = api.build_router(runtime.sessions, clock=clock, webhook_policy=settings.webhook_policy,
                              directory=directory, freshness=freshness,
                              freshness_wait_s=settings.consent_copy_wait_s)
    app = create_app(title="TAC notifications", service="notifications", settings=settings, routers=[router],
                     lifespan=lifespan)
    runtime.watch(intake)
    runtime.readiness.add("stream", consumer.running)
    app.state.readiness = runtime.ready
    service = Notifications(settings, runtime, intake, consumer, app, clock, out, freshness)
    return service
