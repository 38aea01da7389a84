"""Delivery to real receivers — an SMTP server and an HTTP webhook receiver on 127.0.0.1 —
with the store on SQLite and PostgreSQL: what arrives, how it is signed, how failures are
retried and reported, and what is withheld when consent or the subscription has gone."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import select

from schemas.catalogue import parse_event
from schemas.events import referrals as r
from schemas.vocabulary import Agency, AreaOfNeed, Category, NotificationChannel, TeamJoinRoute
from services.common.db import make_engine, make_session_factory, run_migrations
from services.notifications.service_layer import handlers
from services.notifications.adapters import jobs, store
from services.notifications.bootstrap import MIGRATIONS
from services.notifications.adapters.channels import EmailChannel, SmtpConfig, WebhookChannel
from services.notifications.service_layer.delivery import DeliveryWorker
from services.notifications.domain.retry import RetryPolicy
from services.notifications.domain.signing import verify_signature
from services.notifications.domain.webhook_urls import WebhookPolicy
from tests.unit.notifications.builders import (
    EP, SETTING, SLT, actor, consent_granted, consent_withdrawn, envelope, parent, practitioner,
)

SECRET = "ep-webhook-secret-0123456789"
OUT = handlers.Outputs("https://tac.example.test", "nt-notifications", email_enabled=True)


def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def sessions(database_url):
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


class Parked:
    """The dead-letter adapter: what would go to the dead-letter topic."""

    def __init__(self) -> None:
        self.records: list[tuple[jobs.Job, str]] = []

    async def __call__(self, job: jobs.Job, reason: str) -> None:
        self.records.append((job, reason))


def make_worker(sessions, smtp_port: int, client: httpx.AsyncClient, parked: Parked, clock=now) -> DeliveryWorker:
    return DeliveryWorker(
        sessions,
        email=EmailChannel(SmtpConfig(host="127.0.0.1", port=smtp_port, timeout_s=5)),
        # The receiver listens on 127.0.0.1: allowed only by the explicit development allowance.
        webhook=WebhookChannel(client, timeout_s=1, clock=clock,
                               policy=WebhookPolicy(allow_http=True, allow_loopback=True)),
        policy=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, max_attempts=3),
        notifications_topic="nt-notifications",
        dead_letter=parked,
        clock=clock,
        poll_s=0.02,
        # The channels that leave the service; the inbox's jobs are the store tests' (inbox_delivery).
        channels=frozenset({NotificationChannel.EMAIL, NotificationChannel.WEBHOOK}),
    )


@pytest.fixture
async def worker(sessions, smtp_server):
    controller, _ = smtp_server
    parked = Parked()
    async with httpx.AsyncClient() as client:
        yield make_worker(sessions, controller.port, client, parked), parked


def setup_child(sessions, *subscribers, consent_orgs=(EP,), secret=SECRET):
    child = uuid4()
    subs = [s(child) if callable(s) else s for s in subscribers]
    with sessions.begin() as session:
        for sub in subs:
            store.put_subscription(session, sub, secret if sub.webhook_url else None, now())
    grant = consent_granted(child, orgs=consent_orgs, categories=(Category.CONCERN,))
    joined = [envelope(r.TeamMemberJoined(organisation_id=o, agency=Agency.EP_SERVICE, role="m", joined_through=TeamJoinRoute.REFERRAL_ACCEPTED), child)
              for o in (EP, SLT)]
    apply(sessions, envelope(r.ChildRegistered(setting_organisation_id=SETTING), child), *joined, grant)
    return child, grant


def apply(sessions, *events, out=OUT):
    for event in events:
        with sessions.begin() as session:
            handlers.handle_event(session, event, store.Source("nt-referrals", 0, 7, event.actor, event.correlationid),
                                  out, now())


def raise_concern(sessions, child, out=OUT):
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.SENSORY_AND_OR_PHYSICAL,),
                           summary="Noise in the hall upsets Ada", evidence="Seen by Mr Jones")
    event = envelope(data, child, by=actor(SETTING, "senco-1"), at=now())
    apply(sessions, event, out=out)
    return event


def reports(sessions) -> list:
    with sessions() as session:
        rows = session.execute(select(store.outbox.c.payload).order_by(store.outbox.c.id)).scalars().all()
    return [parse_event(p) for p in rows]


def statuses(sessions) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(select(store.delivery_jobs.c.channel, store.delivery_jobs.c.person_id,
                                      store.delivery_jobs.c.status)
                               .where(store.delivery_jobs.c.channel != NotificationChannel.INBOX.value)).all()
    return {f"{person}:{channel}": status for channel, person, status in rows}


async def test_an_email_reaches_the_smtp_server_with_the_entry_type_and_link_and_nothing_else(sessions, worker,
                                                                                              smtp_server):
    delivery, _ = worker
    _, sink = smtp_server
    child, _ = setup_child(sessions, practitioner(EP, "ep-1", email="ep@example.test"))
    event = raise_concern(sessions, child)

    assert await delivery.run_once() == 1

    [mail] = sink.to("ep@example.test")
    assert mail.message["Subject"] == "TAC: A concern was raised"
    assert f"https://tac.example.test/children/{child}/timeline#{event.id}" in mail.text
    for private in ("Ada", "Noise", "Mr Jones", "senco-1"):
        assert private not in mail.text
    sent = [e.data for e in reports(sessions) if e.type.endswith("notification_sent.v1") and e.data.channel == "email"]
    assert [(s.recipient_id, s.about_event_id) for s in sent] == [("ep-1", event.id)]
    assert statuses(sessions) == {"ep-1:email": "sent"}
    # The same on every attempt of this notification, so a resend after a crash is known as one.
    assert mail.message["Message-ID"] == f"<{sent[0].notification_id}@tac.invalid>"


async def test_a_webhook_is_signed_so_the_receiver_can_verify_it(sessions, worker, webhook_receiver):
    delivery, _ = worker
    child, _ = setup_child(sessions, practitioner(EP, "ep-1", webhook_url=webhook_receiver.url("/ep")))
    event = raise_concern(sessions, child)

    await delivery.run_once()

    [hook] = webhook_receiver.at("/ep")
    timestamp, signature = hook.headers["X-TAC-Timestamp"], hook.headers["X-TAC-Signature"]
    assert verify_signature(SECRET, timestamp, hook.body, signature, now=time.time())
    assert not verify_signature("not-the-secret-at-all", timestamp, hook.body, signature, now=time.time())
    body = json.loads(hook.body)
    assert (body["about"], body["about_event_id"], body["child_id"]) == (
        r.ConcernRaised.TYPE, str(event.id), str(child))
    assert "Ada" not in hook.body.decode()


async def test_a_failing_webhook_is_retried_then_reported_failed_and_parked_while_others_are_delivered(
    sessions, worker, webhook_receiver
):
    delivery, parked = worker
    failing = lambda child: practitioner(EP, "ep-1", webhook_url=webhook_receiver.url("/fail"))  # noqa: E731
    mum = lambda child: parent("parent-1", child, webhook_url=webhook_receiver.url("/mum"))  # noqa: E731
    child, _ = setup_child(sessions, failing, mum)
    event = raise_concern(sessions, child)

    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run(stop))
    try:
        deadline = time.monotonic() + 20
        while statuses(sessions).get("ep-1:webhook") != "failed" or not parked.records:
            assert time.monotonic() < deadline, statuses(sessions)
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running

    about_concern = [h for h in webhook_receiver.hooks if json.loads(h.body)["about_event_id"] == str(event.id)]
    assert sorted(h.path for h in about_concern) == ["/fail", "/fail", "/fail", "/mum"]
    assert all(s == "sent" for k, s in statuses(sessions).items() if k.startswith("parent-1:"))
    [failed] = [e.data for e in reports(sessions) if e.type.endswith("notification_failed.v1")]
    assert (failed.recipient_id, failed.channel.value, failed.attempts, failed.about_event_id) == (
        "ep-1", "webhook", 3, event.id)
    assert "HTTP 500" in failed.error
    [(job, reason)] = parked.records
    assert job.about.event_id == event.id and "failed after 3 attempts" in reason and "HTTP 500" in reason


async def test_a_bounced_email_ends_as_a_failed_notification(sessions, worker):
    delivery, parked = worker
    child, _ = setup_child(sessions, practitioner(EP, "ep-1", email="bounce@example.test"))
    raise_concern(sessions, child)

    for _ in range(3):
        await delivery.run_once()
        await asyncio.sleep(0.25)

    assert statuses(sessions) == {"ep-1:email": "failed"}
    assert "550" in parked.records[0][1]


async def test_a_job_whose_consent_was_withdrawn_before_the_attempt_is_withheld(sessions, worker, smtp_server):
    delivery, parked = worker
    _, sink = smtp_server
    child, grant = setup_child(sessions, practitioner(EP, "ep-1", email="ep@example.test"))
    raise_concern(sessions, child)
    apply(sessions, consent_withdrawn(child, grant.data.consent_id))

    await delivery.run_once()

    assert sink.to("ep@example.test") == []
    assert statuses(sessions) == {"ep-1:email": "withheld"}
    assert parked.records == []


async def test_a_job_for_someone_who_unsubscribed_is_withheld(sessions, worker, smtp_server):
    delivery, _ = worker
    _, sink = smtp_server
    child, _ = setup_child(sessions, practitioner(EP, "ep-1", email="ep@example.test"))
    raise_concern(sessions, child)
    with sessions.begin() as session:
        store.delete_subscription(session, "ep-1", EP)

    await delivery.run_once()

    assert sink.to("ep@example.test") == []
    assert statuses(sessions) == {"ep-1:email": "withheld"}


async def test_an_email_waits_out_the_hold_so_a_withdrawal_consumed_just_after_the_entry_withholds_it(
    sessions, smtp_server
):
    controller, sink = smtp_server
    child, grant = setup_child(sessions, practitioner(EP, "ep-1", email="ep@example.test"))
    raise_concern(sessions, child, out=replace(OUT, external_hold_s=60))
    parked = Parked()
    async with httpx.AsyncClient() as client:
        at_once = make_worker(sessions, controller.port, client, parked)
        after_the_hold = make_worker(sessions, controller.port, client, parked,
                                     clock=lambda: now() + timedelta(seconds=61))

        assert await at_once.run_once() == 0, "nothing may leave before the hold is over"
        # The withdrawal was given first, but came on the consent topic after the entry.
        apply(sessions, consent_withdrawn(child, grant.data.consent_id))
        await after_the_hold.run_once()

    assert sink.to("ep@example.test") == []
    assert statuses(sessions) == {"ep-1:email": "withheld"}


async def test_a_parents_pending_email_and_webhook_are_withheld_once_the_token_naming_their_children_expired(
    sessions, smtp_server, webhook_receiver
):
    controller, sink = smtp_server
    expires = now() + timedelta(minutes=10)
    mum = lambda child: parent("parent-1", child, valid_until=expires, email="mum@example.test",  # noqa: E731
                               webhook_url=webhook_receiver.url("/mum"))
    child, _ = setup_child(sessions, mum)
    raise_concern(sessions, child)  # while the token was valid: the jobs are written
    parked = Parked()
    async with httpx.AsyncClient() as client:
        later = make_worker(sessions, controller.port, client, parked, clock=lambda: expires + timedelta(seconds=1))
        await later.run_once()

    assert sink.to("mum@example.test") == [] and webhook_receiver.at("/mum") == []
    assert statuses(sessions) == {"parent-1:email": "withheld", "parent-1:webhook": "withheld"}
    with sessions() as session:
        reasons = set(session.execute(select(store.delivery_jobs.c.last_error).where(
            store.delivery_jobs.c.channel != NotificationChannel.INBOX.value)).scalars())
    assert reasons and all("token that has expired" in reason for reason in reasons)


async def test_a_parents_email_goes_while_the_token_naming_their_children_is_valid(sessions, worker, smtp_server):
    delivery, _ = worker
    _, sink = smtp_server
    child, _ = setup_child(sessions, lambda child: parent("parent-1", child, valid_until=now() + timedelta(minutes=10),
                                                         email="mum@example.test"))
    event = raise_concern(sessions, child)

    await delivery.run_once()

    assert len([m for m in sink.to("mum@example.test") if str(event.id) in m.text]) == 1
