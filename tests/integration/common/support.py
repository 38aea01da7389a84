"""Small helpers for platform integration tests: a toy service store and topic readers."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer
from sqlalchemy import Column, MetaData, String, Table

from schemas.catalogue import make_envelope
from schemas.envelope import Actor
from schemas.events.referrals import ConcernRaised
from services.common.outbox import define_outbox_table

metadata = MetaData()
things = Table("things", metadata, Column("id", String(36), primary_key=True))
outbox = define_outbox_table(metadata)

SETTING = Actor(practitioner_id="priya", organisation_id="sunflower-nursery", agency="setting", role="senco")


def concern(child: UUID):
    return make_envelope(
        ConcernRaised(concern_id=uuid4(), areas_of_need=["communication_and_interaction"], summary="few words"),
        subject=child,
        actor=SETTING,
        source="/tac/tests",
    )


async def read_all(bootstrap: str, topic: str, *, expected: int, timeout_s: float = 60.0) -> list:
    """Read a topic from the start with a fresh group until `expected` records or timeout."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid4().hex}", auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(records) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
        # a short extra poll catches anything beyond `expected` (duplicates or leaks)
        for part in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(part)
    finally:
        await consumer.stop()
    return records


async def until(condition, *, what: str, timeout_s: float = 60.0) -> None:
    """Until the awaitable `condition()` is true, checked every 0.1 s; AssertionError naming
    `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.1)


def drift_from_migrations(database_url: str, metadata: MetaData) -> list:
    """What the migrated database (run them first) differs from a store's table definitions in:
    Alembic's autogenerate comparison, empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from services.common.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
