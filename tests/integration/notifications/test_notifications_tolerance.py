"""Notifications as a tolerant reader that fails closed, on the real broker (issues 14 and 16):
an event of a type this build does not know is skipped and counted, not dead-lettered, and an
event with a new optional field is announced as usual; after a consent-topic message that can
never parse, the child's consent-based recipients are told nothing more (the parent still is)."""

from __future__ import annotations

import json
from uuid import uuid4

from prometheus_client import REGISTRY

from services.notifications.adapters import store
from tests.integration.notifications.conftest import read_topic
from tests.integration.notifications.test_notifications_service import (
    PARENT, SLT, about, concern, team_of_three_with_one_consent,
)

NEW_TYPE = "tac.referrals.speech_screening_done.v1"


def _skipped() -> float:
    return REGISTRY.get_sample_value("tac_unknown_event_types_skipped_total",
                                     {"service": "notifications", "type": NEW_TYPE}) or 0.0


def _open_holds(running) -> list[dict]:
    with running.service.runtime.sessions() as session:
        return store.consent_copy.open_holds(session)


async def test_an_unknown_type_is_skipped_and_counted_and_a_new_field_is_read(start_service):
    child = uuid4()
    key = str(child).encode()
    async with start_service() as running:
        await running.subscribe(PARENT, children=[child])
        before = _skipped()
        unknown = json.loads(concern(child).to_json_bytes())
        unknown["type"], unknown["data"] = NEW_TYPE, {"outcome": "refer on"}
        newer = json.loads(concern(child).to_json_bytes())
        newer["data"]["urgency"] = "high"
        await running.publish_raw(running.topics.referrals, json.dumps(unknown).encode(), key)
        await running.publish_raw(running.topics.referrals, json.dumps(newer).encode(), key)
        await running.until_processed(2)

        assert _skipped() == before + 1
        assert [i["about_event_id"] for i in await running.inbox(PARENT, children=[child])] == [newer["id"]]
        assert running.service.intake.stats.dead_lettered == 0
        assert await read_topic(running.settings.kafka_bootstrap_servers, running.topics.deadletter, expected=0,
                                timeout_s=1) == []
        assert _open_holds(running) == []


async def test_after_an_unparseable_consent_message_only_the_parent_and_author_are_told(start_service):
    child = uuid4()
    async with start_service() as running:
        await team_of_three_with_one_consent(running, child)
        await running.subscribe(SLT)
        await running.subscribe(PARENT, children=[child])
        first = concern(child)
        await running.publish(first)
        await running.until(lambda: running.processed() >= 5, what="the first concern")
        assert len(about(await running.inbox(SLT), first)) == 1  # consent-based, before the hold

        await running.publish_raw(running.topics.consent, b"\x00 never an event", str(child).encode())
        await running.until(lambda: len(_open_holds(running)) == 1, what="the hold")
        after = concern(child)
        await running.publish(after)
        await running.until(lambda: running.processed() >= 6, what="the later concern")

        assert about(await running.inbox(SLT), after) == []  # consent-based: closed
        assert len(about(await running.inbox(PARENT, children=[child]), after)) == 1
        assert [h["child_id"] for h in _open_holds(running)] == [str(child)]
        assert running.service.intake.stats.dead_lettered == 1
