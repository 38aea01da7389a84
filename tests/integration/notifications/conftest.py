"""Real receivers and a running notifications service for the integration tests: an SMTP
server (aiosmtpd) and an HTTP webhook receiver on 127.0.0.1, fresh topics and consumer group,
a fresh database (SQLite and PostgreSQL), and the FastAPI app with its lifespan (Faust agent
and timer, delivery worker, outbox relay) on the test's event loop."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from schemas.envelope import Actor, EnvelopeBase
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.notifications.adapters import store
from services.notifications.bootstrap import Notifications, build
from services.notifications.config import NotificationsSettings

# --- an SMTP server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    to: tuple[str, ...]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_payload(decode=True).decode()


class SmtpSink:
    """Accepts every message; refuses recipients whose address starts with "bounce"."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        if address.startswith("bounce"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        with self._lock:
            self.mails.append(Mail(tuple(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.mails if address in m.to]


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, sink
    finally:
        controller.stop()


# --- a webhook receiver --------------------------------------------------------------------------


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """Answers 200 on any path, 500 on paths starting /fail, and hangs for `slow_s` before
    answering 500 on paths starting /slow."""

    port: int
    hooks: list[Hook] = field(default_factory=list)
    slow_s: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Hook]:
        with self.lock:
            return [h for h in self.hooks if h.path == path]


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server hook
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.hooks.append(Hook(self.path, dict(self.headers.items()), body, time.monotonic()))
            if self.path.startswith("/slow"):
                time.sleep(receiver.slow_s)
            status = 500 if self.path.startswith(("/fail", "/slow")) else 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# --- topics, settings, tokens ------------------------------------------------------------------


@dataclass
class Topics:
    referrals: str
    consent: str
    notifications: str
    deadletter: str


@pytest.fixture
async def notification_topics(fresh_topic) -> Topics:
    return Topics(
        referrals=await fresh_topic("nt-referrals"),
        consent=await fresh_topic("nt-consent"),
        notifications=await fresh_topic("nt-notifications"),
        deadletter=await fresh_topic("nt-deadletter"),
    )


def notification_settings(kafka_bootstrap: str, database_url: str, topics: Topics, datadir, *, smtp_port: int | None,
                          **extra) -> NotificationsSettings:
    values = dict(
        # Development, with loopback webhooks explicitly allowed: the test receiver is on 127.0.0.1.
        environment="development",
        allow_loopback_webhooks=True,
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=database_url,
        timeline_public_url="https://tac.example.test",
        referrals_topic=topics.referrals,
        consent_topic=topics.consent,
        notifications_topic=topics.notifications,
        deadletter_topic=topics.deadletter,
        consumer_group=f"nt-test-{uuid.uuid4().hex[:10]}",
        datadir=datadir,
        batch_within_s=0.05,
        commit_interval_s=0.5,
        session_timeout_s=6,
        relay_poll_interval_s=0.05,
        smtp_host="127.0.0.1" if smtp_port else None,
        smtp_port=smtp_port or 25,
        smtp_timeout_s=5,
        webhook_timeout_s=1,
        retry_base_s=0.2,
        retry_max_s=1.0,
        max_attempts=3,
        delivery_poll_s=0.05,
        reminder_interval_s=0.3,
        external_hold_s=0,  # the tests of the hold set it themselves
    )
    values.update(extra)
    return NotificationsSettings(**values)


def token_for(settings: NotificationsSettings, actor: Actor, children=()) -> str:
    return issue_token(
        dev_private_key_pem(), practitioner=actor.practitioner_id, organisation=actor.organisation_id,
        agency=actor.agency, role=actor.role, children=children, issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


# --- the running service -----------------------------------------------------------------------


class Harness:
    def __init__(self, service: Notifications, client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: Topics):
        self.service = service
        self.settings = service.settings
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

    def processed(self) -> int:
        with self.service.sessions() as session:
            return session.execute(select(func.count()).select_from(store.processed_events)).scalar_one()

    async def until_processed(self, n: int, timeout_s: float = 30.0) -> None:
        await self.until(lambda: self.processed() >= n, timeout_s=timeout_s, what=f"{n} processed events")

    def headers(self, actor: Actor, children=()) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(self.settings, actor, children)}"}

    async def subscribe(self, actor: Actor, *, children=(), **channels) -> None:
        response = await self.client.put("/subscriptions/me", json=channels, headers=self.headers(actor, children))
        assert response.status_code == 200, response.text

    def pending_inbox_jobs(self) -> int:
        with self.service.sessions() as session:
            return session.execute(select(func.count()).select_from(store.delivery_jobs).where(
                store.delivery_jobs.c.channel == "inbox", store.delivery_jobs.c.status == "pending")).scalar_one()

    async def inbox(self, actor: Actor, *, children=()) -> list[dict]:
        """The inbox once the delivery worker has decided every inbox job made so far."""
        await self.until(lambda: self.pending_inbox_jobs() == 0, what="the inbox jobs decided")
        response = await self.client.get("/inbox", headers=self.headers(actor, children))
        assert response.status_code == 200, response.text
        return response.json()["items"]


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


async def read_until(bootstrap: str, topic: str, done: Callable[[list], bool], *, timeout_s: float = 30.0) -> list:
    """Records of `topic` from the start (a fresh group) until `done(records)` or the time is up."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list = []
    try:
        deadline = time.monotonic() + timeout_s
        while not done(records) and time.monotonic() < deadline:
            for part in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


@pytest.fixture
async def producer(kafka_bootstrap) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


class Running:
    """Starts the service (again and again, for restart tests) on the same database."""

    def __init__(self, kafka_bootstrap, database_url, topics, tmp_path, producer, smtp_port):
        self.kafka_bootstrap = kafka_bootstrap
        self.database_url = database_url
        self.topics = topics
        self.tmp_path = tmp_path
        self.producer = producer
        self.smtp_port = smtp_port

    def settings(self, **extra) -> NotificationsSettings:
        return notification_settings(self.kafka_bootstrap, self.database_url, self.topics,
                                     self.tmp_path / f"faust-{uuid.uuid4().hex[:6]}", smtp_port=self.smtp_port, **extra)

    def __call__(self, **extra):
        return self.start(self.settings(**extra))

    @asynccontextmanager
    async def start(self, settings: NotificationsSettings) -> AsyncIterator[Harness]:
        service = build(settings)
        async with service.app.router.lifespan_context(service.app):
            transport = httpx.ASGITransport(app=service.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
                yield Harness(service, client, self.producer, self.topics)


@pytest.fixture
def start_service(kafka_bootstrap, database_url, notification_topics, tmp_path, producer, smtp_server) -> Running:
    controller, _ = smtp_server
    return Running(kafka_bootstrap, database_url, notification_topics, tmp_path, producer, controller.port)

