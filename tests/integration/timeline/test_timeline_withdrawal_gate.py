"""A withdrawal already on the consent topic, or a removal from the team already on the child's
partition of the referrals topic, is in force for the very next timeline read, even while the
timeline has not applied it yet: the read waits for its consent copy to catch up
(services.common.consent_freshness), and answers 503 rather than show what may be withdrawn.

The withdrawal is made to fail at the store until the test lets it through, so the window
between "published" and "applied" is as long as the test needs (in service it is tens of ms)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from schemas.vocabulary import Agency
from services.timeline.bootstrap import build
from tests.integration.timeline.conftest import GatedStore, timeline_settings, token_for, until
from tests.unit.timeline.timeline_builders import (
    SLT, SLT_ORG, concern, envelope, granted_payload, joined, left, registered, withdrawn,
)

WAIT_S = 1.0


def recent(minutes: int) -> datetime:  # the read decides at the real time
    return datetime.now(timezone.utc) - timedelta(minutes=minutes)


@dataclass
class GatedTimeline:
    """The timeline service, running, whose store refuses `gated`'s blocked event until opened."""

    gated: GatedStore
    producer: AIOKafkaProducer
    client: httpx.AsyncClient
    headers: dict[str, str]

    async def read(self, child) -> httpx.Response:
        """The speech and language service's read of the child's timeline."""
        return await self.client.get(f"/children/{child}/timeline", headers=self.headers)

    async def publish(self, topic: str, *events) -> None:
        for event in events:
            await self.producer.send_and_wait(topic, event.to_json_bytes(), key=event.key)

    async def until_refused(self, what: str) -> None:
        async def refused() -> bool:
            return self.gated.failures >= 1

        await until(refused, what=what)


@asynccontextmanager
async def gated_timeline(kafka_bootstrap, database_url, timeline_topics, tmp_path, blocked) -> AsyncIterator[GatedTimeline]:
    settings = timeline_settings(kafka_bootstrap, database_url, timeline_topics, tmp_path / "faust",
                                 consent_copy_wait_s=WAIT_S)
    timeline = build(settings)
    gated = GatedStore(timeline.store, blocked)
    timeline.ingestor.sink = gated
    timeline.ingestor.max_backoff_s = 0.1  # retried every 0.1 s, so "opened" soon means "applied"
    headers = {"Authorization": f"Bearer {token_for(settings, SLT)}"}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        async with timeline.app.router.lifespan_context(timeline.app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timeline.app), base_url="http://t") as client:
                yield GatedTimeline(gated, producer, client, headers)
    finally:
        await producer.stop()


async def refused_then_answered_without(read, gated: GatedStore, entry, blocked) -> None:
    """`blocked` is published and not applied: a read waits, then refuses rather than show
    `entry`; a read waiting when `blocked` is applied answers, without `entry`."""
    response = await read()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert str(entry.id) not in response.text

    pending = asyncio.create_task(read())
    await asyncio.sleep(WAIT_S / 5)
    gated.open()
    response = await pending
    assert response.status_code == 200, response.text
    assert str(entry.id) not in {e["event_id"] for e in response.json()["entries"]}
    assert blocked.id in gated.applied


async def test_a_read_after_a_withdrawal_is_published_never_shows_what_it_withdrew(
    kafka_bootstrap, database_url, timeline_topics, tmp_path
):
    child = uuid4()
    # The speech and language service, on the team, may see concerns.
    grant = envelope(granted_payload(valid_from=recent(60)), child, time=recent(30))
    raised = concern(child, time=recent(20))
    withdrawal = withdrawn(child, grant.data.consent_id, time=recent(0))
    async with gated_timeline(kafka_bootstrap, database_url, timeline_topics, tmp_path, withdrawal) as run:
        async def shown() -> set:
            response = await run.read(child)
            assert response.status_code == 200, response.text
            return {e["event_id"] for e in response.json()["entries"]}

        await run.publish(timeline_topics.consent, grant)
        await run.publish(timeline_topics.referrals, registered(child, time=recent(50)),
                          joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(25)), raised)

        async def concern_shown() -> bool:
            return str(raised.id) in await shown()

        await until(concern_shown, what="the concern shown on consent")

        await run.publish(timeline_topics.consent, withdrawal)
        await run.until_refused("the withdrawal on the topic and not yet applied")
        await refused_then_answered_without(lambda: run.read(child), run.gated, raised, withdrawal)


def partition_of(child, partitions: int = 6) -> int:  # the producers' default partitioner (murmur2)
    return (murmur2(str(child).encode()) & 0x7FFFFFFF) % partitions


async def test_a_read_after_a_removal_from_the_team_is_published_never_shows_what_the_team_place_allowed(
    kafka_bootstrap, database_url, timeline_topics, tmp_path
):
    child = uuid4()
    # Another child, whose events go to another partition of the referrals topic.
    other = next(c for c in iter(uuid4, None) if partition_of(c) != partition_of(child))
    grant = envelope(granted_payload(valid_from=recent(60)), child, time=recent(30))
    raised = concern(child, time=recent(20))
    removal = left(child, SLT_ORG, time=recent(0))
    async with gated_timeline(kafka_bootstrap, database_url, timeline_topics, tmp_path, removal) as run:
        await run.publish(timeline_topics.consent, grant)
        await run.publish(timeline_topics.referrals, registered(child, time=recent(50)),
                          joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(25)), raised,
                          registered(other, time=recent(50)), joined(other, SLT_ORG, Agency.SLT_SERVICE, time=recent(25)))

        async def concern_shown() -> bool:
            response = await run.read(child)
            return response.status_code == 200 and str(raised.id) in response.text

        await until(concern_shown, what="the concern shown on consent and a place on the team")

        await run.publish(timeline_topics.referrals, removal)
        await run.until_refused("the removal on the topic and not yet applied")
        # Another child's read does not wait for this child's partition.
        assert (await run.read(other)).status_code == 200
        await refused_then_answered_without(lambda: run.read(child), run.gated, raised, removal)
