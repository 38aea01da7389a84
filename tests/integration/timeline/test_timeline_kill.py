"""Kill -9 in the middle of a stream: the worker (`python -m services.timeline`, a real
process) is SIGKILLed while 5,000 events stream in, restarted, and every event is stored
exactly once; the offsets it committed never ran ahead of what it had stored."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import select

from services.common.db import make_engine, make_session_factory
from services.timeline.adapters import store as tables
from services.timeline.adapters.store import TimelineStore
from tests.integration.timeline.conftest import read_topic, service_env, timeline_settings
from tests.unit.timeline.timeline_builders import SETTING, concern

TOTAL = 5_000
CHILDREN = 250
KILL_AFTER = 1_500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(env: dict[str, str], log_path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "services.timeline"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=os.getcwd())


async def wait_for(condition, *, timeout_s: float, what: str, worker: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if worker.poll() is not None:
            raise AssertionError(f"worker exited ({worker.returncode}) while waiting for {what}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}:\n{_tail(log_path)}")
        await asyncio.sleep(0.1)


def _tail(log_path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


async def committed_total(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return sum(meta.offset for meta in offsets.values() if meta.offset > 0)
    finally:
        await admin.close()


async def test_a_worker_killed_mid_stream_and_restarted_stores_every_event_exactly_once(
    kafka_bootstrap, database_url, timeline_topics, tmp_path
):
    settings = timeline_settings(kafka_bootstrap, database_url, timeline_topics, tmp_path / "faust", port=free_port())
    env = service_env(settings)
    log_path = tmp_path / "worker.log"
    children = [uuid4() for _ in range(CHILDREN)]
    events = [concern(children[i % CHILDREN], SETTING) for i in range(TOTAL)]

    engine = make_engine(database_url)
    store = TimelineStore(make_session_factory(engine))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()

    async def stream() -> None:
        # A steady stream (about 800 events/s), so the kill lands while events keep coming.
        for start in range(0, TOTAL, 100):
            batch = [producer.send(settings.referrals_topic, e.to_json_bytes(), key=e.key)
                     for e in events[start:start + 100]]
            await asyncio.gather(*[await f for f in batch])
            await asyncio.sleep(0.12)

    worker = start_worker(env, log_path)
    streaming = asyncio.create_task(stream())
    try:
        # The first start runs the migrations; until then there is no table to count.
        await wait_for(lambda: _processed_or_zero(store) >= KILL_AFTER, timeout_s=60, what=f"{KILL_AFTER} stored",
                       worker=worker, log_path=log_path)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        stored_at_kill = store.count_processed()
        assert stored_at_kill < TOTAL, "the kill came after the whole stream: the test proves nothing"
        committed = await committed_total(kafka_bootstrap, settings.consumer_group)
        assert committed <= stored_at_kill, (
            f"offsets committed for {committed} events but only {stored_at_kill} were stored")

        worker = start_worker(env, log_path)
        await streaming
        await wait_for(lambda: store.count_processed() >= TOTAL, timeout_s=90, what=f"all {TOTAL} stored",
                       worker=worker, log_path=log_path)
        await asyncio.sleep(1.5)  # anything redelivered late would land now

        with store_sessions(engine) as session:
            entry_ids = session.execute(select(tables.entries.c.event_id)).scalars().all()
            processed_ids = session.execute(select(tables.processed_events.c.event_id)).scalars().all()
        produced = sorted(str(e.id) for e in events)
        assert sorted(entry_ids) == produced
        assert sorted(processed_ids) == produced
        assert await read_topic(kafka_bootstrap, settings.deadletter_topic, expected=0, timeout_s=1) == []
    finally:
        streaming.cancel()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        await producer.stop()
        engine.dispose()


def _processed_or_zero(store: TimelineStore) -> int:
    try:
        return store.count_processed()
    except Exception:  # noqa: BLE001 - the table appears when the worker has migrated
        return 0


def store_sessions(engine):
    return make_session_factory(engine)()
