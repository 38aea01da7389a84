"""The one place that builds real adapters and composes the notifications process:

    uvicorn ─ FastAPI app ─ lifespan: migrations → producer → outbox relay + delivery worker → Faust

One process, one event loop: the Faust agent records notifications, the timer schedules
reminders, the delivery worker sends e-mails and webhooks, the relay publishes
NotificationSent/Failed, and FastAPI serves subscriptions and inboxes. Database work runs in
worker threads so none of them blocks the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import faust
import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faust.contrib.asgi import faust_app_running
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from schemas import topics
from services.common.directory import Directory
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.kafka import make_producer, send_to_deadletter
from services.common.kafka_admin import wait_for_broker
from services.common.outbox import OutboxRelay
from services.common.tasks import supervise
from services.common.web import create_app
from services.notifications import api, handlers, store
from services.notifications.config import NotificationsSettings
from services.notifications.channels import EmailChannel, SmtpConfig, WebhookChannel
from services.notifications.delivery import DeliveryWorker
from services.notifications.domain.retry import RetryPolicy
from services.notifications.jobs import Job
from services.notifications.worker import Incoming, Intake, build_faust_app

MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


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
    engine: Engine
    sessions: sessionmaker[Session]
    intake: Intake
    faust_app: faust.App
    app: FastAPI
    clock: Clock
    directory: Directory
    # Made in `running()`: aiokafka and httpx clients must be created on the running loop.
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    delivery: DeliveryWorker | None = None
    reminder_ticks: int = 0

    async def dead_letter(self, *, raw: bytes | None, key: bytes | None, reason: str, topic: str, partition: int,
                          offset: int, consumer: str) -> None:
        if self.producer is None:
            raise RuntimeError("the producer is not started")
        await send_to_deadletter(self.producer, raw=raw, key=key, reason=reason, source_topic=topic,
                                 partition=partition, offset=offset, consumer=consumer,
                                 topic=self.settings.deadletter_topic)

    def committed(self) -> None:
        """New outbox rows or jobs were committed: publish and deliver now, not at next poll."""
        if self.relay is not None:
            self.relay.notify()
        if self.delivery is not None:
            self.delivery.wakeup()

    async def send_due_reminders(self) -> int:
        told = await asyncio.to_thread(handlers.send_due_reminders, self.sessions, self.outputs, self.clock())
        self.reminder_ticks += 1
        if told:
            self.committed()
        return told

    @property
    def outputs(self) -> handlers.Outputs:
        return outputs(self.settings, self.directory)

    @asynccontextmanager
    async def running(self) -> AsyncIterator["Notifications"]:
        """Migrate, connect, and run the stream, the timer, the delivery worker and the relay
        until the block exits."""
        s = self.settings
        if s.run_migrations:
            await asyncio.to_thread(run_migrations, s.database_url, MIGRATIONS)
        await wait_for_broker(s.kafka_bootstrap_servers, timeout_s=s.broker_wait_s)
        producer = make_producer(s.kafka_bootstrap_servers, client_id=f"{s.consumer_group}-producer")
        await producer.start()
        http = httpx.AsyncClient(follow_redirects=False)
        email = smtp_config(s)
        self.producer = producer
        self.relay = OutboxRelay(self.sessions, store.outbox, producer, batch_size=s.relay_batch_size,
                                 poll_interval_s=s.relay_poll_interval_s)
        self.delivery = DeliveryWorker(
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
        )
        stop = asyncio.Event()
        relay, delivery = self.relay, self.delivery
        # Supervised: a loop that died silently would stop publishing NotificationSent/Failed
        # (or stop delivering) while /health still said all was well; it restarts with backoff.
        tasks = [asyncio.create_task(supervise("outbox_relay", lambda: relay.run(stop), stop),
                                     name="notifications-outbox-relay"),
                 asyncio.create_task(supervise("delivery_worker", lambda: delivery.run(stop), stop),
                                     name="notifications-delivery")]
        try:
            async with faust_app_running(self.faust_app):
                yield self
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.aclose()
            await producer.stop()
            self.producer = self.relay = self.delivery = None

    async def _dead_letter_message(self, message: Incoming, reason: str) -> None:
        await self.dead_letter(raw=message.value, key=message.key, reason=reason, topic=message.topic,
                               partition=message.partition, offset=message.offset,
                               consumer=self.settings.consumer_group)

    async def _dead_letter_job(self, job: Job, reason: str) -> None:
        # The record points at the event that caused the notification (topic, partition,
        # offset) and carries the notification body that could not be delivered.
        await self.dead_letter(raw=job.body, key=str(job.about.child_id).encode(), reason=reason,
                               topic=job.source.topic, partition=job.source.partition, offset=job.source.offset,
                               consumer=f"{self.settings.consumer_group}-delivery")


def build(settings: NotificationsSettings, *, clock: Clock = utc_now, logging_config: object = None) -> Notifications:
    """Everything wired, nothing connected: connections open in `running()`."""
    # Read once at start: a missing or malformed directory is a configuration error (fail now).
    directory = Directory.load(settings.directory_path)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    service: Notifications

    async def dead_letter(message: Incoming, reason: str) -> None:
        await service._dead_letter_message(message, reason)

    async def remind() -> None:
        await service.send_due_reminders()

    intake = Intake(
        sessions,
        outputs(settings, directory),
        topics={settings.referrals_topic: topics.REFERRALS, settings.consent_topic: topics.CONSENT},
        dead_letter=dead_letter,
        clock=clock,
        attempts=settings.handler_attempts,
        on_committed=lambda: service.committed(),
    )
    faust_app = build_faust_app(settings, intake, remind, logging_config=logging_config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with service.running():
                yield
        finally:
            engine.dispose()

    router = api.build_router(sessions, clock=clock, webhook_policy=settings.webhook_policy, directory=directory)
    app = create_app(title="TAC notifications", service="notifications", settings=settings, routers=[router],
                     lifespan=lifespan)

    def ready() -> bool:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return faust_app.started and service.producer is not None

    app.state.readiness = ready
    service = Notifications(settings, engine, sessions, intake, faust_app, app, clock, directory)
    return service
