"""The Faust app: one batch agent reading raw bytes from tac.referrals.v1 and tac.consent.v1
through the shared consumer pipeline (services.common.streams: acked only after the batch's
transaction committed or its poison was parked), and one timer sending due reminders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from schemas import topics
from services.common.pipeline import BatchIngestor
from services.common.streams import BatchReport, add_batch_agent, make_faust_app
from services.notifications import metrics
from services.notifications.config import NotificationsSettings

log = logging.getLogger(__name__)

AGENT_NAME = "notifications-intake"


def build_faust_app(
    settings: NotificationsSettings,
    intake: BatchIngestor,
    remind: Callable[[], Awaitable[None]],
    *,
    logging_config: Any = None,
    on_applied: Callable[[str, int, int], None] = lambda _topic, _partition, _next: None,
) -> faust.App:
    """Builds (but does not start or connect) the Faust app. `on_applied(topic, partition,
    next_offset)` is told, after each batch is applied and acked, how far each partition is
    applied (the freshness gate's positions)."""
    app = make_faust_app(settings, logging_config=logging_config)

    def measure(batch: BatchReport) -> None:
        furthest: dict[tuple[str, int], int] = {}
        for event in batch.events:
            tp = (event.message.topic, event.message.partition)
            furthest[tp] = max(furthest.get(tp, -1), event.message.offset)
        for (topic, partition), offset in furthest.items():
            on_applied(topic, partition, offset + 1)
        applied = batch.stored + batch.duplicates
        metrics.EVENTS.labels("applied").inc(applied)
        metrics.EVENTS.labels("dead_lettered").inc(batch.dead_lettered)
        for _ in range(applied):  # a batch's time, shared among its events
            metrics.EVENT_SECONDS.observe(batch.seconds / applied)

    add_batch_agent(
        app, name=AGENT_NAME, ingestor=intake, batch_max=settings.batch_max, within_s=settings.batch_within_s,
        topics={settings.referrals_topic: topics.REFERRALS, settings.consent_topic: topics.CONSENT}, on_batch=measure,
    )

    async def send_due_reminders() -> None:
        try:
            await remind()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next tick tries again; nothing was half-sent
            log.warning("reminder tick failed: %r", exc)

    app.timer(interval=settings.reminder_interval_s, name="notifications-reminders")(send_due_reminders)
    return app
