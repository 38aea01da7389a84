"""The freshness gate on the real broker: while the service's consumer of the consent topic is
held back, no e-mail or webhook is decided on the stale consent copy (and the inbox answers
503); once the copy has caught up, what the withdrawal covers is withheld and the rest is sent."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import select

from schemas.events import referrals as r
from services.notifications.adapters import tables
from services.notifications.bootstrap import build
from tests.integration.notifications.conftest import Harness
from tests.integration.notifications.test_notifications_service import (
    PARENT, SECRET, SETTING, SLT, concern, grant, joined,
)
from tests.unit.notifications.builders import consent_withdrawn, envelope

HOLD_S = 120


def statuses(harness: Harness, event_id) -> dict[tuple[str, str], str]:
    """The e-mail and webhook jobs' (the inbox's were decided before the withdrawal was published)."""
    with harness.service.sessions() as session:
        rows = session.execute(select(tables.delivery_jobs.c.person_id, tables.delivery_jobs.c.channel,
                                      tables.delivery_jobs.c.status)
                               .where(tables.delivery_jobs.c.about_event_id == str(event_id),
                                      tables.delivery_jobs.c.channel != "inbox")).all()
    return {(person, channel): status for person, channel, status in rows}


async def held_back(running, settings, consent, child, ahead, raised, sink, webhook_receiver) -> None:
    """The withdrawal published while the consumer applies nothing, then every job due: no
    round may send, nothing is dropped, the inbox answers 503."""
    await running.publish(consent_withdrawn(child, consent.data.consent_id))
    ahead[0] = HOLD_S + 10  # every job is due now
    running.service.delivery.wakeup()

    await asyncio.sleep(2)  # rounds keep coming (poll 0.05 s, each wakeup): none may send
    assert sink.mails == [] and webhook_receiver.at("/slt") == []
    assert REGISTRY.get_sample_value("tac_notifications_consent_copy_behind", {"topic": settings.consent_topic}) == 1
    assert set(statuses(running, raised.id).values()) == {"pending"}, "nothing dropped either"
    answer = await running.client.get("/inbox", headers=running.headers(SLT))
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "catching up" in answer.json()["detail"]


async def test_no_email_or_webhook_is_decided_while_the_consent_copy_is_behind_the_published_withdrawal(
    start_service, smtp_server, webhook_receiver
):
    _, sink = smtp_server
    ahead = [0.0]  # the clock, moved past the hold once the withdrawal is published

    def clock() -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=ahead[0])

    settings = start_service.settings(external_hold_s=HOLD_S)
    service = build(settings, clock=clock)
    child = uuid4()
    async with service.app.router.lifespan_context(service.app):
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
            running = Harness(service, client, start_service.producer, start_service.topics)
            consent = grant(child, SLT)
            await running.publish(envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id),
                                           child, by=SETTING, at=clock()),
                                  joined(child, SLT), consent)
            await running.until_processed(3)
            await running.subscribe(SLT, email="sam@example.test", webhook_url=webhook_receiver.url("/slt"),
                                    webhook_secret=SECRET)
            await running.subscribe(PARENT, children=[child], email="mum@example.test")
            raised = concern(child)
            await running.publish(raised)
            await running.until_processed(4)
            assert set(statuses(running, raised.id).values()) == {"pending"}  # held for HOLD_S
            # The inbox items, decided at once on a copy that had everything published by then.
            assert [i["about_event_id"] for i in await running.inbox(SLT)] == [str(raised.id)]

            # The service's consumer stops applying: the withdrawal is published, not applied.
            release = asyncio.Event()
            ingest = service.intake.ingest_holding  # the consumer's way in (services.common.lanes)

            async def held(messages):
                await release.wait()
                return await ingest(messages)

            service.intake.ingest_holding = held
            try:
                await held_back(running, settings, consent, child, ahead, raised, sink, webhook_receiver)
            finally:
                release.set()  # a failed check must not leave the agent (and the shutdown) waiting
            await running.until(lambda: len(sink.to("mum@example.test")) == 1, what="the parent's e-mail")
            await running.until(lambda: statuses(running, raised.id) == {
                ("mum-1", "email"): "sent", ("sam", "email"): "withheld", ("sam", "webhook"): "withheld",
            }, what="SLT's e-mail and webhook withheld")
            assert sink.to("sam@example.test") == [] and webhook_receiver.at("/slt") == []
            assert REGISTRY.get_sample_value("tac_notifications_consent_copy_behind",
                                             {"topic": settings.consent_topic}) == 0
            answer = await client.get("/inbox", headers=running.headers(SLT))
            assert answer.status_code == 200 and answer.json()["items"] == []
