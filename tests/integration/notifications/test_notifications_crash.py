"""`python -m services.notifications` killed with SIGKILL mid-stream and started again: every
event still notifies each permitted person exactly once (DESIGN §7: nothing lost or doubled).
Real broker, real process, the store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

from sqlalchemy import func, select

from schemas.envelope import Actor
from schemas.events import referrals as r
from schemas.vocabulary import Agency, AreaOfNeed
from services.common.db import make_engine, make_session_factory, run_migrations
from services.notifications.adapters import store
from services.notifications.bootstrap import MIGRATIONS
from services.notifications.config import NotificationsSettings
from services.notifications.domain.recipients import Subscriber
from tests.integration.notifications.conftest import free_port, notification_settings
from tests.unit.notifications.builders import envelope

REPO = Path(__file__).resolve().parents[3]
SETTING = Actor(practitioner_id="priya", organisation_id="sunflower-nursery", agency=Agency.SETTING, role="senco")
# The stream, sent a chunk at a time (see the test): most of it is still to come at the kill.
EVENTS = 1000
CHUNK = 25


def service_env(settings: NotificationsSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAC_NOTIFICATIONS_")}
    env.update(
        TAC_ENVIRONMENT=settings.environment,
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        TAC_LOG_LEVEL="WARNING",
        TAC_TIMELINE_PUBLIC_URL=settings.timeline_public_url,
        **{f"TAC_NOTIFICATIONS_{name.upper()}": str(getattr(settings, name)) for name in (
            "database_url", "port", "referrals_topic", "consent_topic", "notifications_topic", "deadletter_topic",
            "consumer_group", "datadir", "batch_within_s", "commit_interval_s", "session_timeout_s",
            "relay_poll_interval_s", "delivery_poll_s")},
    )
    return env


def start(settings: NotificationsSettings, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.notifications"], cwd=REPO, env=service_env(settings),
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def wait_for(condition, *, timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(poll_s)


async def test_a_service_killed_mid_stream_and_restarted_notifies_each_event_exactly_once(
    kafka_bootstrap, database_url, notification_topics, tmp_path, producer
):
    settings = notification_settings(kafka_bootstrap, database_url, notification_topics, tmp_path / "faust",
                                     smtp_port=None, port=free_port(), batch_max=10)
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    child = uuid4()
    with sessions.begin() as session:
        store.put_subscription(session, Subscriber("mum-1", None, Agency.PARENT, "parent", frozenset({child})), None,
                               datetime.now(timezone.utc))

    def processed() -> int:
        with sessions() as session:
            return session.execute(select(func.count()).select_from(store.processed_events)).scalar_one()

    def inbox_jobs_pending() -> int:
        with sessions() as session:
            return session.execute(select(func.count()).select_from(store.delivery_jobs).where(
                store.delivery_jobs.c.channel == "inbox", store.delivery_jobs.c.status == "pending")).scalar_one()

    def inbox() -> list[str]:
        with sessions() as session:
            return list(session.execute(select(store.inbox.c.about_event_id)).scalars())

    log = tmp_path / "service.log"
    events = [envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child, by=SETTING)]
    events += [envelope(r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
                                        summary=f"note {i}"), child, by=SETTING) for i in range(EVENTS)]
    async def send(chunk) -> None:
        for event in chunk:
            await producer.send(notification_topics.referrals, event.to_json_bytes(), key=event.key)
        await producer.flush()

    first = start(settings, log)
    try:
        # The stream is still flowing when the kill lands: events go out a chunk at a time, each
        # once the service has nearly caught up with the last, and the kill comes after the
        # first events are applied, with most of the stream still to come (the first process
        # once applied all 1,000 before a kill aimed at "mid-stream" of a topic filled up front).
        sent = 0
        while processed() < 20:
            await send(events[sent:sent + CHUNK])
            sent += CHUNK
            await wait_for(lambda: processed() >= sent - CHUNK // 2, timeout_s=60, what="the service to keep up",
                           poll_s=0.01)
        await send(events[sent:sent + CHUNK])  # in flight when the kill lands
        sent += CHUNK
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert sent < len(events), "killed after the stream ended: nothing to prove"
        await send(events[sent:])

        second = start(settings, log)
        try:
            await wait_for(lambda: processed() >= len(events), timeout_s=90, what="every event after the restart")
            await wait_for(lambda: inbox_jobs_pending() == 0, timeout_s=90, what="every inbox job decided")
            notified = inbox()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        engine.dispose()

    assert sorted(notified) == sorted(str(e.id) for e in events), log.read_text()[-2000:]
