"""The whole system up — four services as real processes, the real broker — with the story
of SCENARIO.md played once through their HTTP APIs; the tests then check what came out."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from demo.cast import CAST
from demo.client import Api
from demo.report import Observed, observe, wait_for_timeline
from demo.scenario import Story, play
from demo.stack import ServiceProcess, Stack
from schemas.topics import NOTIFICATIONS

PORTS = {"referrals": 18001, "consent": 18002, "timeline": 18003, "notifications": 18004}


@dataclass
class StoryRun:
    story: Story
    observed: Observed
    api: Api
    notifications_sent: list[dict]


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(topic, p) for p in consumer._client.cluster.partitions_for_topic(topic) or ()]
        return await consumer.end_offsets(parts)
    finally:
        await consumer.stop()


async def _read_since(bootstrap: str, offsets: dict[TopicPartition, int], idle_s: float = 3.0) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    values = []
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


@pytest.fixture(scope="session")
def story_run(kafka_bootstrap, tmp_path_factory) -> StoryRun:
    stack = Stack(
        tmp_path_factory.mktemp("e2e-stack"),
        kafka_bootstrap=kafka_bootstrap,
        services=tuple(ServiceProcess(name, port) for name, port in PORTS.items()),
        group_prefix=f"e2e-{uuid.uuid4().hex[:8]}",
    )
    before = asyncio.run(_end_offsets(kafka_bootstrap, NOTIFICATIONS.name))
    stack.start()
    try:
        stack.wait_until_ready()
        api = Api(stack.urls)
        for person in CAST:
            if person.organisation_id:
                api.call(person, "PUT", "notifications", "/subscriptions/me", json={})
        story = play(api, date.today())
        wait_for_timeline(api, story)
        sent = _wait_for_notifications(kafka_bootstrap, before, story)
        observed = observe(api, story)
        yield StoryRun(story, observed, api, sent)
    finally:
        stack.stop()


def _wait_for_notifications(bootstrap: str, before, story: Story) -> list[dict]:
    """NotificationSent events about this story's entries, once the stream has gone quiet."""
    ids = {str(e.event_id) for e in story.entries}
    events = [json.loads(v) for v in asyncio.run(_read_since(bootstrap, before, idle_s=5.0))]
    return [e for e in events if e.get("type") == "tac.notifications.notification_sent.v1"
            and e["data"].get("about_event_id") in ids]
