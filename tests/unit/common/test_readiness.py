"""Readiness probes without a broker: each failing dependency is named, one that hangs neither
holds the probe nor hides the others, a database probe never piles up threads, and a consent
partition counts against readiness only once it has been stuck past the threshold."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import create_engine

from schemas import topics
from services.common.consent_hold import StuckPartitions
from services.common.pipeline import BatchIngestor
from services.common.readiness import DatabaseProbe, Readiness, broker_probe, stuck_consent_probe

CONSENT = topics.CONSENT.name


async def fine() -> None:
    return None


async def test_each_failing_dependency_is_named_and_a_hanging_one_does_not_hold_the_others():
    readiness = Readiness(timeout_s=0.05)
    forever = asyncio.Event()

    async def hangs() -> None:
        await forever.wait()

    async def raises() -> None:
        raise ConnectionRefusedError("10.0.0.7:5432 refused")

    async def says_why() -> str:
        return "the producer is not started"

    for name, check in (("ok", fine), ("database", hangs), ("broker", says_why), ("other", raises)):
        readiness.add(name, check)

    assert await readiness.failing() == {
        "database": "no answer within 0.05s",
        "broker": "the producer is not started",
        "other": "ConnectionRefusedError",  # the class, never the message (addresses, SQL)
    }


async def test_the_database_probe_answers_from_the_engine():
    engine = create_engine("sqlite://")
    try:
        assert await DatabaseProbe(engine)() is None
    finally:
        engine.dispose()
    refused = create_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    readiness = Readiness(timeout_s=10)
    readiness.add("database", DatabaseProbe(refused))
    assert await readiness.failing() == {"database": "OperationalError"}


class StuckEngine:
    """An engine whose connection never comes (a database host that drops packets)."""

    def __init__(self) -> None:
        self.connects = 0
        self.release = threading.Event()

    def connect(self):
        self.connects += 1
        self.release.wait(10)
        raise ConnectionError("gave up")


async def test_a_database_probe_still_waiting_is_joined_not_started_again():
    engine = StuckEngine()
    readiness = Readiness(timeout_s=0.05)
    readiness.add("database", DatabaseProbe(engine))
    try:
        for _ in range(3):
            assert await readiness.failing() == {"database": "no answer within 0.05s"}
        assert engine.connects == 1
    finally:
        engine.release.set()


async def test_a_broker_probe_before_the_producer_starts_says_so():
    assert await broker_probe(lambda: None)() == "the producer is not started"


async def test_a_stuck_consent_partition_is_not_ready_only_past_the_threshold():
    async def nothing(_message, _reason) -> None:
        return None

    now = [0.0]
    ingestor = BatchIngestor(object(), nothing, consumer="unit-ready")
    ingestor.stuck = StuckPartitions("unit-ready", clock=lambda: now[0])
    check = stuck_consent_probe([ingestor], threshold_s=30)
    assert await check() is None
    ingestor.stuck.hold((CONSENT, 4))
    now[0] = 29.0
    assert await check() is None  # a blip of retries is not worth taking the instance out
    now[0] = 31.0
    assert await check() == f"unit-ready holds {CONSENT}[4]: a consent event has not applied for 31s"
    ingestor.stuck.release((CONSENT, 4))
    assert await check() is None
