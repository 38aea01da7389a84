"""Kafka adapters shared by the services: the safe producer, dead-lettering, and a plain
consumer that validates envelopes and never lets a bad message stop the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from prometheus_client import Counter, Gauge, Histogram

from schemas.catalogue import InvalidEvent, parse_event, topic_of
from schemas.deadletter import DeadLetterRecord
from schemas.envelope import EnvelopeBase
from schemas.topics import DEADLETTER
from services.common.logging import bind_correlation_id

log = structlog.get_logger(__name__)

Handler = Callable[[EnvelopeBase], Awaitable[None]]

# Labels carry consumer names, topics and outcomes only — never child or person ids.
CONSUMED = Counter("tac_consumer_events_total", "Events consumed by plain consumers", ["consumer", "outcome"])
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
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def send_envelope(producer: AIOKafkaProducer, envelope: EnvelopeBase, *, topic: str | None = None) -> None:
    await producer.send_and_wait(
        topic or topic_of(envelope.type).name,
        value=envelope.to_json_bytes(),
        key=envelope.key,
        headers=[("type", envelope.type.encode()), ("correlationid", envelope.correlationid.encode())],
    )


def deadletter_record(
    *, raw: bytes | None, key: bytes | None, reason: str, source_topic: str, partition: int, offset: int, consumer: str
) -> bytes:
    return DeadLetterRecord.for_message(
        reason=reason,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        consumer=consumer,
        key=key,
        value=raw,
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
) -> None:
    """Publish the dead-letter record and wait for the broker's acknowledgement, so the
    original offset is committed only once the message is safely parked."""
    value = deadletter_record(
        raw=raw, key=key, reason=reason, source_topic=source_topic, partition=partition, offset=offset, consumer=consumer
    )
    await producer.send_and_wait(topic, value=value, key=key, headers=[("reason", reason[:200].encode())])
    log.warning("dead_lettered", source_topic=source_topic, partition=partition, offset=offset, reason=reason)


class EnvelopeConsumer:
    """A plain aiokafka consumer for services that need a copy of another service's facts.

    Each message is parsed with the contracts; an invalid one goes to the dead-letter topic with
    the reason. A handler that keeps failing (after `handler_attempts` tries with backoff) also
    dead-letters the message, with the error — the stream goes on, nothing is silently dropped.
    Offsets are committed once per fetched batch, after every message in it is handled or
    parked; handlers must be idempotent by event id (a crash replays the uncommitted batch).
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: list[str],
        group_id: str,
        handler: Handler,
        producer: AIOKafkaProducer,
        consumer_name: str,
        deadletter_topic: str = DEADLETTER.name,
        handler_attempts: int = 3,
        max_records: int = 500,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=consumer_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._handler = handler
        self._producer = producer
        self._name = consumer_name
        self._group_id = group_id
        self._deadletter_topic = deadletter_topic
        self._attempts = handler_attempts
        self._max_records = max_records
        self.handled = 0
        self.dead_lettered = 0

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            for tp, records in batches.items():
                for record in records:
                    with PROCESSING.labels(self._name).time():
                        await self._process(record)
                highwater = self._consumer.highwater(tp)
                if highwater is not None:
                    LAG.labels(self._name, tp.topic, str(tp.partition)).set(max(0, highwater - records[-1].offset - 1))
            if batches:
                await self._consumer.commit()

    async def _process(self, record: ConsumerRecord) -> None:
        try:
            envelope = parse_event(record.value or b"")
        except InvalidEvent as exc:
            await self._dead_letter(record, exc.reason)
            return
        with bind_correlation_id(envelope.correlationid):  # the handler's logs carry the causing request's id
            await self._handle(record, envelope)

    async def _handle(self, record: ConsumerRecord, envelope: EnvelopeBase) -> None:
        delay = 0.2
        for attempt in range(1, self._attempts + 1):
            try:
                await self._handler(envelope)
                self.handled += 1
                CONSUMED.labels(self._name, "handled").inc()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failing handler must not stop the stream
                log.warning("handler_failed", consumer=self._name, event_id=str(envelope.id), attempt=attempt, error=repr(exc))
                if attempt == self._attempts:
                    await self._dead_letter(record, f"handler failed after {attempt} attempts: {exc!r}")
                    return
                await asyncio.sleep(delay)
                delay *= 2

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        await send_to_deadletter(
            self._producer,
            raw=record.value,
            key=record.key,
            reason=reason,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            consumer=self._group_id,
            topic=self._deadletter_topic,
        )
        self.dead_lettered += 1
        CONSUMED.labels(self._name, "dead_lettered").inc()
