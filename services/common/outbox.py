"""Transactional outbox: an event is written in the same database transaction as the state
change it describes, and a relay publishes committed rows afterwards.

So an event is never published for a change that rolled back, and never lost for one that
committed. Delivery is at least once (a crash between publish and "mark sent" republishes);
every consumer de-duplicates by event id.
"""

from __future__ import annotations

import asyncio
from dataclasses import KW_ONLY, dataclass, field
import json
import time
from datetime import datetime, timezone

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import (
    BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text, insert, select, text, update,
)
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import topic_of
from schemas.envelope import EnvelopeBase
from schemas.kafka_binding import kafka_headers
from services.common.errors import Invalid
from services.common.tasks import sleep_or_stop, wait_any

TABLE_NAME = "outbox"
# Kafka's default message.max.bytes is about 1 MiB; a row the broker will always refuse would
# block the relay behind it for good, so such an event is refused before it is written.
MAX_EVENT_BYTES = 512 * 1024
log = structlog.get_logger(__name__)


def _columns() -> list:
    return [
        # BIGINT on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("message_key", LargeBinary, nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
    ]


def define_outbox_table(metadata: MetaData) -> Table:
    table = Table(TABLE_NAME, metadata, *_columns())
    Index("ix_outbox_unsent", table.c.sent_at, table.c.id)
    return table


def create_outbox_table(op) -> None:
    """For a service's Alembic migration."""
    op.create_table(TABLE_NAME, *_columns())
    op.create_index("ix_outbox_unsent", TABLE_NAME, ["sent_at", "id"])


def add_to_outbox(session: Session, table: Table, envelope: EnvelopeBase, *, topic: str | None = None) -> None:
    """Queue `envelope` for publishing when (and only if) `session`'s transaction commits.

    `topic` overrides the contract's topic (tests publish to fresh topics)."""
    payload = envelope.to_json_bytes()
    if len(payload) > MAX_EVENT_BYTES:
        raise Invalid(f"too large to share: the event would be {len(payload)} bytes, at most {MAX_EVENT_BYTES}",
                      field="body")
    headers = kafka_headers(envelope)  # structured-mode CloudEvent (schemas.kafka_binding)
    # The row as parameters of a plain INSERT, not `.values(...)`: a statement built around its
    # values costs its construction and cache key every time (0.46 against 0.17 ms an INSERT on
    # SQLite, measured ad hoc).
    session.execute(insert(table), {
        "event_id": str(envelope.id),
        "event_type": envelope.type,
        "topic": topic or topic_of(envelope.type).name,
        "message_key": envelope.key,
        "payload": payload,
        "headers": json.dumps(headers),
        "created_at": datetime.now(timezone.utc),
    })


@dataclass(eq=False)
class OutboxRelay:
    """Publishes committed outbox rows in id order and marks them sent.

    Rows of one child share a key and so a partition; they are sent in id order through one
    idempotent producer, and only the unbroken prefix of a batch that the broker acknowledged
    is marked sent — after a failure the relay resumes from the first unacknowledged row, so
    no row is skipped. On PostgreSQL, where a service runs several replicas, only the replica
    holding a session advisory lock relays; the others stand by and take over if its
    connection drops, so rows are never published by two relays at once (which could
    reorder a child's events). SQLite is single-host: one process per file.
    """

    session_factory: sessionmaker[Session]
    table: Table
    producer: AIOKafkaProducer
    _: KW_ONLY
    batch_size: int = 200
    poll_interval_s: float = 0.1
    max_backoff_s: float = 5.0
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)

    def notify(self) -> None:
        """Tell the relay a row was just committed, so it publishes without waiting to poll.
        Safe from any thread (request handlers commit in worker threads)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    def _fetch_unsent(self) -> list:
        t = self.table
        with self.session_factory() as session:
            return list(
                session.execute(
                    select(t.c.id, t.c.topic, t.c.message_key, t.c.payload, t.c.headers)
                    .where(t.c.sent_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                )
            )

    def _mark_sent(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.session_factory.begin() as session:
            session.execute(
                update(self.table).where(self.table.c.id.in_(ids)).values(sent_at=datetime.now(timezone.utc))
            )

    async def run_once(self) -> int:
        """Publish one batch; return how many rows were published. Raises on a broker error
        after marking the acknowledged prefix."""
        rows = await asyncio.to_thread(self._fetch_unsent)
        if not rows:
            return 0
        deliveries = []
        failure: BaseException | None = None
        for row in rows:
            headers = [(k, v.encode()) for k, v in json.loads(row.headers).items()]
            try:
                deliveries.append(
                    await self.producer.send(row.topic, value=row.payload, key=row.message_key, headers=headers)
                )
            except Exception as exc:  # noqa: BLE001 - enqueueing failed: stop the batch here
                failure = exc
                break
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        acknowledged: list[int] = []
        for row, result in zip(rows, results):
            if isinstance(result, BaseException):
                failure = failure or result
                break
            acknowledged.append(row.id)
        await asyncio.to_thread(self._mark_sent, acknowledged)
        if failure is not None:
            raise failure
        return len(acknowledged)

    def _try_leadership(self):
        """PostgreSQL: a connection holding this outbox's advisory lock, or None if another
        replica holds it. Other backends: a placeholder (always the leader)."""
        engine = self.session_factory.kw["bind"]
        if engine.dialect.name != "postgresql":
            return _ALWAYS_LEADER
        connection = engine.connect()
        key = f"tac-outbox-relay:{self.table.name}"
        if connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar():
            connection.commit()  # keep the session lock, end the implicit transaction
            return connection
        connection.close()
        return None

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; stand by while another replica relays."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            leadership = await asyncio.to_thread(self._try_leadership)
            if leadership is None:
                await sleep_or_stop(stop, max(1.0, self.poll_interval_s * 10))
                continue
            try:
                await self._relay(stop)
            finally:
                if leadership is not _ALWAYS_LEADER:
                    await asyncio.to_thread(leadership.close)  # closing the session releases the lock

    async def _relay(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set, backing off exponentially while the broker is away."""
        backoff = self.poll_interval_s
        while not stop.is_set():
            # Cleared before the fetch, not after it: a row committed while this round runs
            # wakes the next one rather than waiting out the poll interval.
            self._wakeup.clear()
            try:
                published = await self.run_once()
                backoff = self.poll_interval_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the relay outlives broker outages
                log.warning("outbox_publish_failed", error=repr(exc), retry_in_s=backoff)
                published = 0
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            if published < self.batch_size:
                await wait_any(stop, self._wakeup, self.poll_interval_s)


_ALWAYS_LEADER = object()


def wait_published(snapshots: sessionmaker[Session], table: Table, event_id: object, *, timeout_s: float,
                   interval_s: float = 0.005) -> bool:
    """Block until the relay (this process's or another replica's) has published the outbox row
    of `event_id`, i.e. the broker acknowledged it; False if `timeout_s` passes first. For an
    answer that must not come before its event is on the topic (a consent withdrawal: the
    timeline's next read then waits for it, services.common.consent_freshness). `snapshots`: read
    sessions (services.common.db.make_snapshot_factory), so polling never takes SQLite's writer
    lock from the relay it waits for."""
    deadline = time.monotonic() + timeout_s
    query = select(table.c.sent_at).where(table.c.event_id == str(event_id))
    while True:
        with snapshots() as session:
            if session.execute(query).scalar_one_or_none() is not None:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
