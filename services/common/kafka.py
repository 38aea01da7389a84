"""Kafka adapters shared by the services: the safe producer, dead-lettering, and the batch
consumer (services.common.batch_consumer) built on the consumer pipeline
(services.common.pipeline) for a handler or a sink, which never lets a bad message stop the
stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone

import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge, Histogram

from consent_policy.holds import Hold
from schemas.catalogue import topic_of
from schemas.deadletter import DeadLetterRecord
from schemas.envelope import EnvelopeBase
from schemas.kafka_binding import kafka_headers
from schemas.topics import ALL_TOPICS, DEADLETTER, Topic
from services.common.db import is_transient
from services.common.logging import bind_correlation_id
from services.common.messagebus import Consumed, IngestResult
from services.common.batch_consumer import BatchConsumer, FetchedBatch
from services.common.pipeline import BatchIngestor, DeadLetter, Sink
from services.common.incoming import Incoming

log = structlog.get_logger(__name__)

Handler = Callable[[EnvelopeBase], Awaitable[None]]
# Records consent holds for messages that may restrict access and can never be parsed
# (consent_policy.holds); a sink built by MessageBus has its own (BusSink.hold).
HoldHandler = Callable[[Sequence[Hold]], Awaitable[None]]

# Labels carry consumer names, topics and outcomes only — never child or person ids.
CONSUMED = Counter("tac_consumer_events_total", "Events consumed by plain consumers", ["consumer", "outcome"])
# Per event: a fetched batch's time, retries included, shared among its events.
PROCESSING = Histogram("tac_consumer_event_processing_seconds", "Time to handle one event, retries included", ["consumer"])
LAG = Gauge("tac_consumer_lag", "Messages behind the partition's end after the last batch", ["consumer", "topic", "partition"])


def make_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer with acks=all (aiokafka does not default to Kafka 3's safe
    producer; enable_idempotence forces acks='all' and keeps per-partition order on retry)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        # No lingering: what people wait for (a concern reaching the team, a withdrawal being
        # answered once on the topic) goes out at once; the relay sends a whole batch of rows
        # before awaiting them, so they still share requests.
        linger_ms=0,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def send_envelope(producer: AIOKafkaProducer, envelope: EnvelopeBase, *, topic: str | None = None) -> None:
    await producer.send_and_wait(
        topic or topic_of(envelope.type).name,
        value=envelope.to_json_bytes(),
        key=envelope.key,
        headers=[(name, value.encode()) for name, value in kafka_headers(envelope).items()],
    )


def deadletter_record(
    *, raw: bytes | None, key: bytes | None, reason: str, source_topic: str, partition: int, offset: int, consumer: str,
    headers: Sequence[tuple[str, bytes | None]] = (),
) -> bytes:
    return DeadLetterRecord.for_message(
        reason=reason,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        consumer=consumer,
        key=key,
        value=raw,
        headers=headers,
        failed_at=datetime.now(timezone.utc),
    ).to_json_bytes()


async def send_to_deadletter(
    producer: AIOKafkaProducer,
    *,
    raw: bytes | None,
    key: bytes | None,
    reason: str,
    source_topic: str,
    partition: int,
    offset: int,
    consumer: str,
    topic: str = DEADLETTER.name,
    headers: Sequence[tuple[str, bytes | None]] = (),
) -> None:
    """Publish the dead-letter record (with the original headers, so it can be replayed as it
    was) and wait for the broker's acknowledgement, so the original offset is committed only
    once the message is safely parked."""
    value = deadletter_record(
        raw=raw, key=key, reason=reason, source_topic=source_topic, partition=partition, offset=offset,
        consumer=consumer, headers=headers,
    )
    await producer.send_and_wait(topic, value=value, key=key, headers=[("reason", reason[:200].encode())])
    log.warning("dead_lettered", source_topic=source_topic, partition=partition, offset=offset, reason=reason)


def dead_letter_to(producer: Callable[[], AIOKafkaProducer | None], *, consumer: str, topic: str = DEADLETTER.name,
                   ) -> DeadLetter:
    """The pipeline's dead-letter callable for a consumer group; `producer` returns the started
    producer (made on the running loop, so looked up at the time of parking)."""

    async def park(message: Incoming, reason: str) -> None:
        started = producer()
        if started is None:
            raise RuntimeError("the producer is not started")
        await send_to_deadletter(started, raw=message.value, key=message.key, reason=reason,
                                 source_topic=message.topic, partition=message.partition, offset=message.offset,
                                 consumer=consumer, topic=topic, headers=message.headers)

    return park


class _EachEvent:
    """A sink calling an async per-event handler (a batch stops at the first failure; the
    pipeline then applies its events one by one, so handlers must be idempotent by event id)."""

    def __init__(self, handler: Handler, hold: HoldHandler | None = None) -> None:
        self._handler = handler
        self.hold = hold  # records consent holds (pipeline.BatchIngestor._hold); None: cannot

    async def ingest(self, batch: Sequence[Consumed]) -> IngestResult:
        for item in batch:
            with bind_correlation_id(item.envelope.correlationid):  # the handler's logs carry the causing request's id
                await self._handler(item.envelope)
        return IngestResult(len(batch), 0)


def envelope_consumer(
    *,
    bootstrap: str,
    topics: Sequence[str] | Mapping[str, Topic],
    group_id: str,
    producer: AIOKafkaProducer,
    consumer_name: str,
    handler: Handler | None = None,
    hold: HoldHandler | None = None,
    sink: Sink | None = None,
    deadletter_topic: str = DEADLETTER.name,
    handler_attempts: int = 3,
    is_transient: Callable[[BaseException], bool] = is_transient,
    max_records: int = 500,
    initial_backoff_s: float = 0.2,
    max_backoff_s: float = 5.0,
) -> BatchConsumer:
    """A batch consumer (services.common.batch_consumer) on the consumer pipeline, for services
    that need a copy of another service's facts.

    Each fetched batch goes through the pipeline: invalid or misrouted messages are
    dead-lettered with the reason; the rest go to `sink` (a handler table bound to a unit of
    work: MessageBus(HANDLERS).sink(transactions)) or to `handler` (async, one envelope at a
    time; with `hold`, the async recorder of consent holds, as the bus's sink has its own). An
    event that keeps failing (`handler_attempts` tries with backoff) is dead-lettered with the
    error, except a consent or team event, which is retried until it applies while its
    partition is paused and the others go on (services.common.lanes); a transient failure
    (`is_transient`, by default the database being away) is waited out. Each partition's offset
    is committed once its messages are all applied or parked; a crash replays what was not
    committed, which claims by event id ignore.

    `topics`: topic names, or a mapping of topic name -> the contract topic it carries (the
    misrouted check); a bare name is checked when it is a contract topic's own name.
    """
    if (handler is None) == (sink is None):
        raise TypeError("give exactly one of handler= and sink=")
    by_name = {t.name: t for t in ALL_TOPICS}
    sources = dict(topics) if isinstance(topics, Mapping) else {name: by_name.get(name) for name in topics}
    ingestor = BatchIngestor(
        sink or _EachEvent(handler, hold), dead_letter_to(lambda: producer, consumer=group_id, topic=deadletter_topic),
        is_transient=is_transient, permanent_attempts=handler_attempts, consumer=consumer_name,
        initial_backoff_s=initial_backoff_s, max_backoff_s=max_backoff_s,
    )

    def measure(batch: FetchedBatch) -> None:
        for tp, lag in batch.lag.items():
            if lag is not None:
                LAG.labels(consumer_name, tp.topic, str(tp.partition)).set(lag)
        for _ in range(batch.size):
            PROCESSING.labels(consumer_name).observe(batch.seconds / batch.size)
        CONSUMED.labels(consumer_name, "handled").inc(batch.stored + batch.duplicates)
        CONSUMED.labels(consumer_name, "dead_lettered").inc(batch.dead_lettered)

    return BatchConsumer(bootstrap, sources, group_id, ingestor, client_id=consumer_name, batch_max=max_records,
                         idle_wait_s=0.5, on_batch=measure)
