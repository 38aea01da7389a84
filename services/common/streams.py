"""The Faust app every stream-processing service starts from (timeline, notifications), and
its one kind of agent: batches of raw messages through the consumer pipeline, acked after.

Conventions shared by both (../shared/README.md): raw bytes in, validated by the contracts;
agents at concurrency 1; at-least-once with idempotent writes, not Faust's exactly-once;
offsets committed on a timer, never per message; topics are provisioned, Faust declares none.

Acks and commits (read in faust-streaming 0.15.3, faust/streams.py and transport/consumer.py):
* A Faust consumer commits, per partition, the offset after the longest unbroken run of
  *acked* messages, on a timer (`broker_commit_interval`) and after every
  `broker_commit_every` acks, never per message.
* `stream.take()` acks a batch in a `finally` when the agent asks for the next one, and that
  `finally` also runs when the agent raises or is cancelled mid-batch, acking events that were
  never stored (faust-streaming issues #189, #315, #527: an exception acks the failing event).
* `stream.noack_take()` yields the same batches (of events) but leaves acking to us. So the
  agent acks each event only after the batch's transaction committed (or the event was parked
  on the dead-letter topic). A crash, a SIGKILL or a cancellation before that leaves the batch
  unacked; it is redelivered and the idempotent store makes the replay a no-op.
* Commits therefore batch twice over: one DB transaction per batch (up to `batch_max` events or
  `within_s`), one offset commit per partition per `commit_interval_s`.
* concurrency=1: with more actors Faust can commit past an event still in flight (issue 606).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import faust
from prometheus_client import Gauge

from schemas.topics import Topic
from services.common.pipeline import BatchIngestor, Incoming


def broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()]


class StreamSettings(Protocol):
    """The settings every stream-processing service has (TimelineSettings, NotificationsSettings)."""

    consumer_group: str
    kafka_bootstrap_servers: str
    datadir: Path
    commit_interval_s: float
    session_timeout_s: float


def make_faust_app(settings: StreamSettings, *, logging_config: Any = None) -> faust.App:
    """Builds (but does not start or connect) a Faust app consuming as `settings.consumer_group`."""
    session_timeout_s = settings.session_timeout_s
    return faust.App(
        settings.consumer_group,
        broker=broker_urls(settings.kafka_bootstrap_servers),
        datadir=str(settings.datadir),
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        autodiscover=False,
        # Topics are provisioned (auto creation is off on the broker): Faust declares none,
        # not even its assignor leader topic.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_s,
        broker_session_timeout=session_timeout_s,
        broker_heartbeat_interval=min(3.0, session_timeout_s / 3),
        logging_config=logging_config,
    )


@dataclass(frozen=True)
class BatchReport:
    """What one batch came to, for a service's metrics."""

    events: list
    stored: int
    duplicates: int
    dead_lettered: int
    seconds: float


def add_batch_agent(
    app: faust.App,
    *,
    name: str,
    topics: Mapping[str, Topic],
    ingestor: BatchIngestor,
    batch_max: int,
    within_s: float,
    on_batch: Callable[[BatchReport], None] = lambda _: None,
) -> None:
    """An agent reading raw bytes from `topics` (topic name -> the contract topic it carries),
    feeding batches to `ingestor` and acking each batch only once it is applied or parked."""
    source = app.topic(*topics, key_serializer="raw", value_serializer="raw")

    async def apply_then_ack(stream: faust.StreamT, events: list) -> None:
        # `ingest` returns only once every event is applied or parked (it retries while the
        # database or broker is away), so acking afterwards is safe.
        stats = ingestor.stats
        before = (stats.stored, stats.duplicates, stats.dead_lettered)
        started = time.perf_counter()
        await ingestor.ingest([_incoming(event, topics) for event in events])
        for event in events:
            await stream.ack(event)
        stored, duplicates, dead_lettered = (
            now - was for now, was in zip((stats.stored, stats.duplicates, stats.dead_lettered), before)
        )
        on_batch(BatchReport(events, stored, duplicates, dead_lettered, time.perf_counter() - started))

    async def consume(stream: faust.StreamT) -> None:
        # One batch is applied (in a worker thread) while Faust gathers the next; never more,
        # so batches are applied and acked in order. Without the overlap the fetch loop stalls
        # for every write (bench/: ~2,400 vs ~4,900 events/s for Faust alone on 2 cores).
        in_flight: asyncio.Task | None = None
        try:
            async for events in stream.noack_take(batch_max, within=within_s):
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.create_task(apply_then_ack(stream, list(events)))
            if in_flight is not None:
                await in_flight
        finally:
            # Stopping or rebalancing: a batch still being applied stays unacked, so it is
            # delivered again and the claimed event ids make the replay a no-op.
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()

    app.agent(source, name=name, concurrency=1)(consume)


def _incoming(event: Any, topics: Mapping[str, Topic]) -> Incoming:
    message = event.message
    return Incoming(value=message.value, key=message.key, topic=message.topic, partition=message.partition,
                    offset=message.offset, source=topics[message.topic], headers=_header_pairs(message.headers))


def _header_pairs(headers: Any) -> tuple[tuple[str, bytes], ...]:
    # Faust gives a message's headers as a list of pairs or a mapping, depending on its version.
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return tuple((str(name), value or b"") for name, value in items)


def record_lag(app: faust.App, events: list, gauge: Gauge) -> None:
    """Set `gauge` (labels topic, partition) to how far each partition's end is past the batch."""
    last: dict[Any, int] = {}
    for event in events:
        last[event.message.tp] = max(last.get(event.message.tp, -1), event.message.offset)
    for tp, offset in last.items():
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:  # noqa: BLE001 - metrics must never disturb the stream
            continue
        if highwater is not None:
            gauge.labels(tp.topic, str(tp.partition)).set(max(0, highwater - offset - 1))
