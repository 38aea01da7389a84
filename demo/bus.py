"""Reads what the services published on Kafka during the story (NotificationSent), so checks
see what was actually sent — not the inbox, which filters again at read time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import NOTIFICATIONS

Offsets = dict[TopicPartition, int]
T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on a thread of its own when this thread already runs an event loop: a
    caller inside Playwright's sync API (the browser tests share the pytest process with the
    story) has one running, and asyncio.run refuses to start another there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-bus") as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def _end_offsets(bootstrap: str, topic: str) -> Offsets:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # aiokafka has no public "describe topic"
        parts = [TopicPartition(topic, p) for p in consumer._client.cluster.partitions_for_topic(topic) or ()]
        return await consumer.end_offsets(parts)
    finally:
        await consumer.stop()


async def _read_since(bootstrap: str, offsets: Offsets, idle_s: float) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000))
            if not batch:
                return values
            values += [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()


def notifications_mark(bootstrap: str) -> Offsets:
    """Where tac.notifications.v1 ends now; read from here after the story."""
    return _run(_end_offsets(bootstrap, NOTIFICATIONS.name))


def notifications_sent_since(bootstrap: str, mark: Offsets, about: set[str], idle_s: float = 5.0) -> list[dict]:
    """NotificationSent events about the given event ids, once the topic has gone quiet."""
    events = [json.loads(v) for v in _run(_read_since(bootstrap, mark, idle_s))]
    return [e for e in events if e.get("type") == "tac.notifications.notification_sent.v1"
            and e["data"].get("about_event_id") in about]
