"""The Faust app: one agent reading raw bytes from tac.referrals.v1 and tac.consent.v1, and one
timer sending due reminders.

Acks (faust-streaming 0.15.3): `stream.noack_take()` yields batches and leaves acking to us;
each event is acked only after its transaction committed or it was parked on the dead-letter
topic, so a crash before that redelivers it and the claimed event id makes the replay a no-op.
(`stream.take()` would ack in a `finally`, even for an event whose handler raised.)
concurrency=1: with more actors Faust can commit past an event still in flight (issue 606).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import InvalidEvent, parse_event
from schemas.envelope import EnvelopeBase
from schemas.topics import Topic
from services.notifications import handlers, metrics, store
from services.common.streams import make_faust_app
from services.notifications.config import NotificationsSettings

log = logging.getLogger(__name__)

AGENT_NAME = "notifications-intake"


@dataclass(frozen=True)
class Incoming:
    """One raw message as consumed, with where it came from."""

    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int


DeadLetter = Callable[[Incoming, str], Awaitable[None]]


class Intake:
    """Applies one consumed message: parse it, check it came on its contract's topic, apply it
    once in one transaction. It returns only when the message is applied or parked: a database
    outage is waited out, a message that keeps failing is dead-lettered with the reason."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        out: handlers.Outputs,
        *,
        topics: dict[str, Topic],
        dead_letter: DeadLetter,
        clock: Callable[[], datetime],
        attempts: int = 3,
        on_committed: Callable[[], None] = lambda: None,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._out = out
        self._topics = topics
        self._dead_letter = dead_letter
        self._clock = clock
        self._attempts = attempts
        self._on_committed = on_committed
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self.applied = 0
        self.dead_lettered = 0

    async def __call__(self, message: Incoming) -> None:
        try:
            envelope = parse_event(message.value or b"")
        except InvalidEvent as exc:
            await self._park(message, exc.reason)
            return
        contract_topic = type(envelope.data).TOPIC
        expected = self._topics.get(message.topic)
        if expected is None or contract_topic.name != expected.name:
            # A consent fact on the referrals topic (or the reverse) did not come from the
            # service that owns it: applying it could grant access nobody gave.
            await self._park(message, f"event type {envelope.type} belongs on {contract_topic.name}, "
                                      f"not on {message.topic}")
            return
        source = store.Source(message.topic, message.partition, message.offset, envelope.actor, envelope.correlationid)
        started = time.perf_counter()
        for attempt in range(1, self._attempts + 1):
            try:
                await self._apply(envelope, source)
                self.applied += 1
                metrics.EVENTS.labels("applied").inc()
                metrics.EVENT_SECONDS.observe(time.perf_counter() - started)
                self._on_committed()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the stream
                log.warning("event %s failed (attempt %d of %d): %r", envelope.id, attempt, self._attempts, exc)
                if attempt == self._attempts:
                    await self._park(message, f"could not be applied after {attempt} attempts: {exc!r}")
                    return
                await asyncio.sleep(self._backoff_s * attempt)

    async def _apply(self, envelope: EnvelopeBase, source: store.Source) -> int:
        """Retry while the database is away (the stream waits, nothing is lost); raise on
        anything else."""
        delay = self._backoff_s
        while True:
            try:
                return await asyncio.to_thread(self._apply_once, envelope, source)
            except Exception as exc:
                if not store.is_transient(exc):
                    raise
                log.warning("store unavailable (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)

    def _apply_once(self, envelope: EnvelopeBase, source: store.Source) -> int:
        with self._sessions.begin() as session:
            return handlers.handle_event(session, envelope, source, self._out, self._clock())

    async def _park(self, message: Incoming, reason: str) -> None:
        """Dead-letter until the broker acknowledges: the event is acked only after."""
        delay = self._backoff_s
        while True:
            try:
                await self._dead_letter(message, reason)
                self.dead_lettered += 1
                metrics.EVENTS.labels("dead_lettered").inc()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("dead-lettering failed (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)


def build_faust_app(
    settings: NotificationsSettings,
    intake: Callable[[Incoming], Awaitable[None]],
    remind: Callable[[], Awaitable[None]],
    *,
    logging_config: Any = None,
) -> faust.App:
    """Builds (but does not start or connect) the Faust app."""
    app = make_faust_app(
        group=settings.consumer_group,
        bootstrap=settings.kafka_bootstrap_servers,
        datadir=settings.datadir,
        commit_interval_s=settings.commit_interval_s,
        session_timeout_s=settings.session_timeout_s,
        logging_config=logging_config,
    )
    source = app.topic(settings.referrals_topic, settings.consent_topic, key_serializer="raw", value_serializer="raw")

    async def consume(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(settings.batch_max, within=settings.batch_within_s):
            for event in events:
                message = event.message
                await intake(Incoming(message.value, message.key, message.topic, message.partition, message.offset))
                await stream.ack(event)

    app.agent(source, name=AGENT_NAME, concurrency=1)(consume)

    async def send_due_reminders() -> None:
        try:
            await remind()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next tick tries again; nothing was half-sent
            log.warning("reminder tick failed: %r", exc)

    app.timer(interval=settings.reminder_interval_s, name="notifications-reminders")(send_due_reminders)
    return app
