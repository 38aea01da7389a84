"""The notifications consumer and the reminder loop.

The consumer: raw bytes from tac.referrals.v1 and tac.consent.v1, a whole fetch at a time,
through the shared consumer pipeline, offsets committed only after the batch's transactions
committed or its poison was parked (services.common.batch_consumer says how it acks, and why
it is not a Faust agent: on this service's stream a Faust agent storing nothing ran at a few
thousand events a second, bench/results/notifications-*). After each batch the freshness
gate is told how far each partition is applied (`on_applied`).

The reminder loop: a supervised asyncio loop (ServiceRuntime.run) that sends the due
reminders every `reminder_interval_s`, as the Faust timer did; nothing else of Faust was used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from schemas import topics
from services.common.batch_consumer import BatchConsumer, FetchedBatch
from services.common.pipeline import BatchIngestor
from services.notifications import metrics
from services.notifications.config import NotificationsSettings

log = logging.getLogger(__name__)


def build_consumer(
    settings: NotificationsSettings,
    intake: BatchIngestor,
    *,
    on_applied: Callable[[str, int, int], None] = lambda _topic, _partition, _next: None,
    on_assignment: Callable[[frozenset[tuple[str, int]]], None] = lambda _partitions: None,
) -> BatchConsumer:
    """Builds (but does not start or connect) the consumer. `on_applied(topic, partition,
    next_offset)` is told, after each batch is applied and before its offsets are committed, how
    far each partition is applied, and `on_assignment(partitions)` which partitions this process
    consumes, at each rebalance (the freshness gate's positions)."""

    def measure(batch: FetchedBatch) -> None:
        for tp, next_offset in batch.applied.items():
            on_applied(tp.topic, tp.partition, next_offset)
        applied = batch.stored + batch.duplicates
        metrics.EVENTS.labels("applied").inc(applied)
        metrics.EVENTS.labels("dead_lettered").inc(batch.dead_lettered)
        for _ in range(applied):  # a batch's time, shared among its events
            metrics.EVENT_SECONDS.observe(batch.seconds / applied)

    return BatchConsumer(
        settings.kafka_bootstrap_servers,
        {settings.referrals_topic: topics.REFERRALS, settings.consent_topic: topics.CONSENT},
        settings.consumer_group,
        intake,
        client_id=f"{settings.consumer_group}-consumer",
        batch_max=settings.batch_max,
        idle_wait_s=settings.batch_within_s,
        session_timeout_s=settings.session_timeout_s,
        on_batch=measure,
        on_assignment=on_assignment,
    )


def reminder_loop(interval_s: float, remind: Callable[[], Awaitable[None]]) -> Callable[[asyncio.Event], Awaitable[None]]:
    """`loop(stop)`: every `interval_s` (the first after one interval), send the due reminders;
    a failed tick is logged and the next tries again (nothing was half-sent)."""

    async def loop(stop: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
                return
            except asyncio.TimeoutError:
                pass
            try:
                await remind()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                log.warning("reminder tick failed: %r", exc)

    return loop
