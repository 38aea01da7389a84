"""The whole system up — four services as real processes, the real broker — with the story
of SCENARIO.md played once through their HTTP APIs; the tests then check what came out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest

from demo.bus import notifications_mark, notifications_sent_since
from demo.cast import CAST
from demo.client import Api
from demo.report import Observed, observe, wait_for_timeline
from demo.scenario import Story, play
from demo.stack import ServiceProcess, Stack

PORTS = {"referrals": 18001, "consent": 18002, "timeline": 18003, "notifications": 18004}


@dataclass
class StoryRun:
    story: Story
    observed: Observed
    api: Api

    @property
    def notifications_sent(self) -> list[dict]:
        return self.observed.notifications_sent


@pytest.fixture(scope="session")
def story_run(kafka_bootstrap, tmp_path_factory) -> StoryRun:
    stack = Stack(
        tmp_path_factory.mktemp("e2e-stack"),
        kafka_bootstrap=kafka_bootstrap,
        services=tuple(ServiceProcess(name, port) for name, port in PORTS.items()),
        group_prefix=f"e2e-{uuid.uuid4().hex[:8]}",
    )
    mark = notifications_mark(kafka_bootstrap)
    stack.start()
    try:
        stack.wait_until_ready()
        api = Api(stack.urls)
        for person in CAST:
            if person.organisation_id:
                api.call(person, "PUT", "notifications", "/subscriptions/me", json={})
        story = play(api, date.today())
        wait_for_timeline(api, story)
        sent = notifications_sent_since(kafka_bootstrap, mark, {str(e.event_id) for e in story.entries})
        observed = observe(api, story, sent)
        yield StoryRun(story, observed, api)
    finally:
        stack.stop()
