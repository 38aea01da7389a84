"""The notifications service on the real broker (the issue's acceptance): events in through the
Faust agent, inbox over HTTP, e-mail to a real SMTP server, signed webhooks to a real HTTP
receiver, NotificationSent/Failed and dead letters out — the store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import datetime, timedelta, timezone
from uuid import uuid4

from sqlalchemy import func, select

from schemas.catalogue import parse_event
from schemas.envelope import Actor
from schemas.events import referrals as r
from schemas.vocabulary import Agency, AreaOfNeed, Category, TeamJoinRoute
from services.notifications.service_layer import handlers
from services.notifications.adapters import store
from services.notifications.domain.signing import verify_signature
from tests.integration.notifications.conftest import read_topic, read_until
from tests.unit.notifications.builders import consent_granted, consent_withdrawn, envelope

SETTING = Actor(practitioner_id="priya", organisation_id="sunflower-nursery", agency=Agency.SETTING, role="senco")
SLT = Actor(practitioner_id="sam", organisation_id="nhs-slt", agency=Agency.SLT_SERVICE, role="slt")
EP = Actor(practitioner_id="erin", organisation_id="county-ep", agency=Agency.EP_SERVICE, role="ep")
HV = Actor(practitioner_id="hana", organisation_id="hv-team", agency=Agency.HEALTH_VISITING, role="hv")
PARENT = Actor(practitioner_id="mum-1", organisation_id=None, agency=Agency.PARENT, role="parent")
SECRET = "a-webhook-secret-of-some-length"


def now() -> datetime:
    return datetime.now(timezone.utc)


def concern(child, by=SETTING):
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
                           summary="Ada uses few words at home")
    return envelope(data, child, by=by, at=now())


def joined(child, who: Actor):
    return envelope(r.TeamMemberJoined(organisation_id=who.organisation_id, agency=who.agency, role=who.role, joined_through=TeamJoinRoute.REFERRAL_ACCEPTED),
                    child, by=SETTING, at=now())


def grant(child, *orgs, categories=(Category.CONCERN,)):
    return consent_granted(child, orgs=tuple(o.organisation_id for o in orgs), categories=categories,
                           valid_from=now() - timedelta(minutes=5))


async def team_of_three_with_one_consent(running, child):
    """Setting, SLT and EP in the team; the consent names SLT (and HV, who is not in the team)."""
    consent = grant(child, SLT, HV)
    await running.publish(envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child,
                                   by=SETTING, at=now()),
                          joined(child, SLT), joined(child, EP), consent)
    await running.until_processed(4)
    return consent


def about(items, event) -> list[dict]:
    return [i for i in items if i["about_event_id"] == str(event.id)]


async def test_with_three_organisations_and_one_consent_exactly_the_permitted_get_the_inbox_item_and_email(
    start_service, smtp_server
):
    _, sink = smtp_server
    child = uuid4()
    async with start_service() as running:
        await team_of_three_with_one_consent(running, child)
        for who, mail in ((SETTING, "priya@"), (SLT, "sam@"), (EP, "erin@"), (HV, "hana@")):
            await running.subscribe(who, email=f"{mail}example.test")
        await running.subscribe(PARENT, children=[child], email="mum@example.test")
        raised = concern(child)
        await running.publish(raised)
        await running.until(lambda: len(sink.to("sam@example.test")) + len(sink.to("mum@example.test")) >= 2,
                            what="the e-mails")

        assert [i["title"] for i in about(await running.inbox(SLT), raised)] == ["A concern was raised"]
        assert len(about(await running.inbox(PARENT, children=[child]), raised)) == 1
        for outsider in (SETTING, EP, HV):
            assert about(await running.inbox(outsider), raised) == []
        # a little longer, so an e-mail that should not exist has had its chance to arrive
        await running.service.delivery.run_once()
        mailed = sorted(m.to[0] for m in sink.mails if str(raised.id) in m.text)
        assert mailed == ["mum@example.test", "sam@example.test"]
        link = f"https://tac.example.test/children/{child}/timeline#{raised.id}"
        assert all(link in m.text and "few words" not in m.text for m in sink.mails)


async def test_after_a_withdrawal_the_withdrawn_party_gets_nothing_more(start_service, smtp_server):
    _, sink = smtp_server
    child = uuid4()
    async with start_service() as running:
        consent = await team_of_three_with_one_consent(running, child)
        await running.subscribe(SLT, email="sam@example.test")
        await running.subscribe(PARENT, children=[child], email="mum@example.test")
        before = concern(child)
        await running.publish(before)
        await running.until(lambda: len(sink.to("sam@example.test")) == 1, what="the first e-mail")

        await running.publish(consent_withdrawn(child, consent.data.consent_id))
        after = concern(child)
        await running.publish(after)
        await running.until(lambda: any(str(after.id) in m.text for m in sink.to("mum@example.test")),
                            what="the parent's e-mail about the later concern")

        assert [str(before.id) in m.text for m in sink.to("sam@example.test")] == [True]
        assert await running.inbox(SLT) == [], "not even the earlier item: it is checked again at read time"


async def test_a_failing_webhook_retries_and_ends_in_notification_failed_without_delaying_anyone_else(
    start_service, smtp_server, webhook_receiver
):
    _, sink = smtp_server
    webhook_receiver.slow_s = 1.5  # longer than the 1 s webhook timeout: every attempt times out
    child = uuid4()
    async with start_service() as running:
        await team_of_three_with_one_consent(running, child)
        await running.subscribe(SLT, webhook_url=webhook_receiver.url("/slow"), webhook_secret=SECRET)
        await running.subscribe(PARENT, children=[child], webhook_url=webhook_receiver.url("/mum"),
                                webhook_secret=SECRET, email="mum@example.test")
        first = concern(child)
        await running.publish(first)
        await running.until(lambda: webhook_receiver.at("/mum") and sink.to("mum@example.test"),
                            what="the parent's webhook and e-mail")
        # The stream goes on while the SLT's webhook is still being retried.
        second = concern(child)
        await running.publish(second)
        await running.until(lambda: len(webhook_receiver.at("/mum")) == 2, what="the second webhook")
        assert len(webhook_receiver.at("/slow")) < 3, "the parent was not made to wait for the SLT's retries"

        await running.until(lambda: len(webhook_receiver.at("/slow")) >= 6, timeout_s=60, what="all SLT attempts")
        reports = await read_until(running.settings.kafka_bootstrap_servers, running.topics.notifications,
                                   lambda records: len(failures(records)) >= 2)
        failed = failures(reports)
        assert sorted((f.recipient_id, f.channel.value, f.attempts) for f in failed) == [
            ("sam", "webhook", 3), ("sam", "webhook", 3)]
        assert {f.about_event_id for f in failed} == {first.id, second.id}

        parked = await read_topic(running.settings.kafka_bootstrap_servers, running.topics.deadletter, expected=2)
        reasons = [json.loads(m.value)["reason"] for m in parked]
        assert len(reasons) == 2 and all("failed after 3 attempts" in x and "no answer" in x for x in reasons)
        assert {json.loads(base64.b64decode(json.loads(m.value)["original_b64"]))["about_event_id"]
                for m in parked} == {str(first.id), str(second.id)}

        for hook in webhook_receiver.at("/mum"):
            assert verify_signature(SECRET, hook.headers["X-TAC-Timestamp"], hook.body, hook.headers["X-TAC-Signature"],
                                    now=time.time())


async def test_a_restart_resends_no_reminder(start_service, smtp_server):
    _, sink = smtp_server
    child = uuid4()
    today = handlers.england_today(now())
    first_settings = start_service.settings()
    async with start_service.start(first_settings) as running:
        await running.subscribe(SETTING, email="priya@example.test")
        await running.subscribe(PARENT, children=[child], email="mum@example.test")
        review = envelope(r.IntegratedReviewScheduled(review_id=uuid4(), scheduled_for=today), child, by=SETTING,
                          at=now())
        advice = envelope(r.EHCAdviceRequested(
            request_id=uuid4(), advice_id=uuid4(), from_organisation_id=EP.organisation_id,
            from_agency=Agency.EP_SERVICE,
            requested_on=today - timedelta(weeks=5), due_on=today + timedelta(days=7)), child, by=SETTING, at=now())
        await running.publish(envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child,
                                       by=SETTING, at=now()), review, advice)
        await running.until(lambda: len(sink.to("priya@example.test")) >= 2 and len(sink.to("mum@example.test")) >= 5,
                            what="the reminders by e-mail")
        reminders_sent = _reminder_sends(running)
        mails = len(sink.mails)
        assert reminders_sent == 4  # two reminders, each to the setting and the parent

    # The same store, a new process; even a new consumer group that replays every event.
    replay = start_service.settings(consumer_group=first_settings.consumer_group + "-replay")
    async with start_service.start(replay) as running:
        await running.until(lambda: running.service.intake.applied >= 3, what="the replay")
        ticks = running.service.reminder_ticks
        await running.until(lambda: running.service.reminder_ticks >= ticks + 3, what="three reminder ticks")
        await running.service.delivery.run_once()

        assert _reminder_sends(running) == reminders_sent
        assert len(sink.mails) == mails


def failures(records) -> list:
    events = [parse_event(m.value) for m in records]
    return [e.data for e in events if e.type.endswith("notification_failed.v1")]


def _reminder_sends(running) -> int:
    with running.service.sessions() as session:
        return session.execute(select(func.count()).select_from(store.reminder_sends)).scalar_one()


async def test_poison_and_misrouted_messages_are_dead_lettered_and_the_stream_goes_on(start_service):
    child = uuid4()
    key = str(child).encode()
    async with start_service() as running:
        await running.subscribe(PARENT, children=[child])
        await running.publish_raw(running.topics.referrals, b"\xff not json", key)
        misrouted = grant(child, SLT)
        await running.publish_raw(running.topics.referrals, misrouted.to_json_bytes(), key)
        after = concern(child)
        await running.publish(after)
        await running.until_processed(1)

        assert [i["about_event_id"] for i in await running.inbox(PARENT, children=[child])] == [str(after.id)]
        parked = await read_topic(running.settings.kafka_bootstrap_servers, running.topics.deadletter, expected=2)
        reasons = sorted(json.loads(m.value)["reason"] for m in parked)
        assert len(reasons) == 2
        assert reasons[0].startswith("event type tac.consent.consent_granted.v1 belongs on tac.consent.v1")
        assert reasons[1].startswith("malformed JSON")


async def test_the_integrated_review_window_opening_is_mailed_once_to_each_permitted_person_without_a_date(
    start_service, smtp_server
):
    _, sink = smtp_server
    child = uuid4()
    today = handlers.england_today(now())
    async with start_service() as running:
        for who, address in ((SETTING, "priya@"), (HV, "hana@"), (SLT, "sam@")):
            await running.subscribe(who, email=f"{address}example.test")
        await running.subscribe(PARENT, children=[child], email="mum@example.test")
        await running.publish(envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child,
                                       by=SETTING, at=now()),
                              joined(child, HV), joined(child, SLT), grant(child, HV, categories=(Category.HEALTH,)))
        await running.until_processed(4)
        opened = envelope(r.IntegratedReviewWindowOpened(announced_on=today), child, by=SETTING, at=now())
        await running.publish(opened, opened)  # delivered twice

        told = ("priya@example.test", "hana@example.test", "mum@example.test")

        def about_opened(address):
            return [m for m in sink.to(address) if str(opened.id) in m.text]
        await running.until(lambda: all(about_opened(a) for a in told), what="the window reminders by e-mail")
        ticks = running.service.reminder_ticks
        await running.until(lambda: running.service.reminder_ticks >= ticks + 3, what="three more reminder ticks")
        await running.service.delivery.run_once()

        assert {a: len(about_opened(a)) for a in (*told, "sam@example.test")} == {
            "priya@example.test": 1, "hana@example.test": 1, "mum@example.test": 1, "sam@example.test": 0}
        for address in told:
            [mail] = about_opened(address)
            assert " ".join(mail.message["Subject"].split()) == "TAC: The integrated review window is opening"
            assert today.isoformat() not in mail.text and "24 months" in mail.text


async def test_the_outbox_relay_and_the_delivery_worker_run_under_supervise(start_service):
    # Neither loop can be made to crash from outside (each already catches what it expects), so
    # this checks the composition: both run inside services.common.tasks.supervise.
    async with start_service():
        tasks = {t.get_name(): t for t in asyncio.all_tasks()}
        for name in ("notifications-outbox-relay", "notifications-delivery"):
            assert tasks[name].get_coro().__qualname__ == "supervise", name
            assert not tasks[name].done(), name
