"""A Faust app and its one kind of agent: batches of raw messages through the consumer pipeline,
acked after. No service runs it any more (the timeline and then notifications moved to
services.common.batch_consumer, whose per-message cost is a fraction of Faust's); the benchmarks
keep it as the row to compare with.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import faust
from faust.types import TP
from prometheus_client import Gauge

from schemas.topics import Topic
from services.common.lanes import PartitionLanes
from services.common.pipeline import BatchIngestor, IngestStats
from services.common.incoming import Incoming, subscriptions


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
        # Faust's default waits, before a rebalance or a stop, until every event taken is acked:
        # a partition held behind a stuck consent event (services.common.lanes) never is, so
        # the wait would never end. Not waiting is safe here: whatever is unacked is delivered
        # again (to this member or the next) and the claimed event ids make that a no-op.
        stream_wait_empty=False,
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
    feeding batches to `ingestor` and acking each event only once it is applied or parked.

    Partitions progress independently (services.common.lanes): one held by a consent event that
    will not apply is paused at the consumer and finished on the side, unacked until then, while
    the others go on. Faust commits each partition's offset after its longest run of acked
    events, so the held partition's offset stays before the stuck event."""
    topics = subscriptions(topics, ingestor.sink)
    source = app.topic(*topics, key_serializer="raw", value_serializer="raw")

    async def consume(stream: faust.StreamT) -> None:
        async def ack(events: Sequence[Any], stats: IngestStats, seconds: float) -> None:
            for event in events:
                await stream.ack(event)
            if events:
                on_batch(BatchReport(list(events), stats.stored, stats.duplicates, stats.dead_lettered, seconds))

        lanes: PartitionLanes[Any] = PartitionLanes(
            ingestor, incoming=lambda event: _incoming(event, topics), done=ack,
            pause=lambda key: app.consumer.pause_partitions([TP(*key)]),
            # Faust's ack only marks the event (it cannot fail), so there is never one to put back.
            resume=lambda key, _rewind: _resume(app, key),
        )

        async def on_revoked(_app: Any, revoked: Any, **_: Any) -> None:
            # A held partition handed to another member: stop trying it here (it stays unacked
            # and its new owner starts from the stuck event).
            await lanes.drop([(tp.topic, tp.partition) for tp in revoked])

        app.on_partitions_revoked.connect(on_revoked)

        # One batch is applied (in a worker thread) while Faust gathers the next; never more,
        # so batches are applied and acked in order. Without the overlap the fetch loop stalls
        # for every write (bench/: ~2,400 vs ~4,900 events/s for Faust alone on 2 cores).
        in_flight: asyncio.Task | None = None
        try:
            async for events in stream.noack_take(batch_max, within=within_s):
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.create_task(lanes.feed(list(events)))
            if in_flight is not None:
                await in_flight
        finally:
            # Stopping or rebalancing: a batch still being applied stays unacked, so it is
            # delivered again and the claimed event ids make the replay a no-op.
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()
            app.on_partitions_revoked.disconnect(on_revoked)
            await lanes.close()

    app.agent(source, name=name, concurrency=1)(consume)


def _resume(app: faust.App, key: tuple[str, int]) -> None:
    tp = TP(*key)
    # A partition revoked meanwhile is not ours to fetch.
    if tp in app.consumer.assignment():
        app.consumer.resume_partitions([tp])


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


async def stream_running(app: faust.App) -> str | None:
    """A readiness check (services.common.readiness): the Faust app is started."""
    return None if app.started else "the stream processor is not running"
