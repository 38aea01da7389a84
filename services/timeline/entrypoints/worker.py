"""The timeline's consumer: raw bytes from tac.referrals.v1 and tac.consent.v1, a whole fetch
at a time, through the consumer pipeline into the timeline store, offsets committed after
(services.common.batch_consumer says why it is not a Faust agent, and how it acks)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from services.common.batch_consumer import BatchConsumer, FetchedBatch
from services.common.pipeline import BatchIngestor
from services.timeline.config import TimelineSettings
from services.timeline.domain.entries import Source

EVENTS = Counter("tac_timeline_events_total", "Events consumed by the timeline, by outcome", ["outcome"])
BATCH_SECONDS = Histogram("tac_timeline_batch_seconds", "Time to store (or park) one batch and commit it")
LAG = Gauge("tac_timeline_consumer_lag", "Messages behind the partition's end after the last batch", ["topic", "partition"])
CONSENT_COPY_BEHIND = Gauge(
    "tac_timeline_consent_copy_behind",
    "Messages the timeline had not applied at the last read's freshness check, of the consent topic and the read "
    "child's partition of the referrals topic (above 0: reads wait)",
    ["topic"],
)


def measure(batch: FetchedBatch) -> None:
    BATCH_SECONDS.observe(batch.seconds)
    for outcome, count in (("stored", batch.stored), ("duplicate", batch.duplicates),
                           ("dead_lettered", batch.dead_lettered)):
        EVENTS.labels(outcome).inc(count)
    for tp, lag in batch.lag.items():
        if lag is not None:
            LAG.labels(tp.topic, str(tp.partition)).set(lag)


def build_consumer(
    settings: TimelineSettings,
    ingestor: BatchIngestor,
    *,
    on_applied: Callable[[str, int, int], None] = lambda _topic, _partition, _next: None,
    on_assignment: Callable[[frozenset[tuple[str, int]]], None] = lambda _partitions: None,
) -> BatchConsumer:
    """Builds (but does not start or connect) the consumer. `on_applied(topic, partition,
    next_offset)` is told after each applied batch how far each partition is applied, and
    `on_assignment(partitions)` which partitions this process consumes, at each rebalance (the
    read's freshness gate, services.common.consent_freshness)."""

    def on_batch(batch: FetchedBatch) -> None:
        measure(batch)
        for tp, next_offset in batch.applied.items():
            on_applied(tp.topic, tp.partition, next_offset)

    return BatchConsumer(
        settings.kafka_bootstrap_servers,
        {settings.referrals_topic: Source.REFERRALS, settings.consent_topic: Source.CONSENT},
        settings.consumer_group,
        ingestor,
        client_id=f"{settings.consumer_group}-consumer",
        batch_max=settings.batch_max,
        idle_wait_s=settings.batch_within_s,
        session_timeout_s=settings.session_timeout_s,
        on_batch=on_batch,
        on_assignment=on_assignment,
    )
