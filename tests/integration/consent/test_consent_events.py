"""The consent service on the real broker: each API action publishes exactly one event, only
once its transaction has committed; a transaction that fails publishes nothing; expiry and
its reminder are published once each, also across restarts; and the service learns each
child's setting from ChildRegistered on tac.referrals.v1. Every test uses fresh topics."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import make_envelope
from schemas.events.referrals import ConcernRaised
from schemas.vocabulary import Agency, AreaOfNeed, Category, Purpose
from services.common.auth import Principal
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.kafka import make_producer, send_envelope
from services.common.outbox import OutboxRelay
from services.consent import domain
from services.consent.adapters import store
from services.consent.service_layer import expiry, handlers
from services.consent.bootstrap import MIGRATIONS, build_app
from tests.integration.consent.conftest import (
    DIRECTORY, JUSTIFICATION, SETTING, PinnedClock, Service, TopicReader, auth, child_registered, grant_body, settings_for,
    start_of_test,
)

pytestmark = pytest.mark.kafka

SENCO = Principal(practitioner_id="senco-amy", organisation_id=SETTING, agency=Agency.SETTING, role="senco")
DSL = Principal(practitioner_id="dsl-hana", organisation_id=SETTING, agency=Agency.SETTING, role="designated_safeguarding_lead")


def grant_command(**changes) -> domain.GrantConsent:
    base = dict(given_by_name="Kim Parker", relationship="mother", has_parental_responsibility=True,
                recipient_organisations=["nhs-slt-east"], recipient_agencies=[], categories=[Category.SLT],
                purposes=[Purpose.REFERRAL])
    return domain.GrantConsent(**{**base, **changes})


@pytest.fixture
async def topics(fresh_topic):
    return {"consent": await fresh_topic("consent"), "referrals": await fresh_topic("referrals"),
            "deadletter": await fresh_topic("deadletter")}


@pytest.fixture
async def consent_events(kafka_bootstrap, topics):
    reader = TopicReader(kafka_bootstrap, topics["consent"])
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


@pytest.fixture
async def live_service(database_url, kafka_bootstrap, topics):
    """The whole service: API, outbox relay, children consumer — on fresh topics."""
    clock = PinnedClock(start_of_test())
    settings = settings_for(database_url, kafka_bootstrap, consent_topic=topics["consent"],
                            referrals_topic=topics["referrals"], deadletter_topic=topics["deadletter"],
                            children_group_id=f"test-consent-children-{uuid4().hex}", run_expiry_task=False)
    app = build_app(settings, clock=clock, directory=DIRECTORY)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://consent") as client:
            yield Service(client, app, clock, settings)


async def publish(kafka_bootstrap: str, topic: str, *envelopes) -> None:
    producer = make_producer(kafka_bootstrap, client_id="test-consent-referrals")
    await producer.start()
    try:
        for envelope in envelopes:
            await send_envelope(producer, envelope, topic=topic)
    finally:
        await producer.stop()


async def until_known(service: Service, child: UUID, timeout_s: float = 30) -> None:
    """Wait until the consumer has recorded the child's setting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        r = await service.client.get(f"/children/{child}/consents", headers=auth("setting"))
        if r.status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"child {child} never became known to the consent service")


async def test_each_api_action_publishes_exactly_one_event_and_refusals_publish_none(
    live_service, consent_events, kafka_bootstrap, topics
):
    child = uuid4()
    await publish(kafka_bootstrap, topics["referrals"], child_registered(child))
    await until_known(live_service, child)
    client = live_service.client

    granted = await live_service.grant(child)
    r = await client.post(f"/children/{child}/consents/{granted['consent_id']}/withdrawal",
                          headers=auth("parent", children=[child]))
    assert r.status_code == 201, r.text
    withdrawn = r.json()
    r = await client.post(f"/children/{child}/safeguarding-access", json={"justification": JUSTIFICATION},
                          headers=auth("setting_dsl"))
    assert r.status_code == 201, r.text
    safeguarding = r.json()
    # Refused: withdrawing again, a bad consent, the wrong party.
    r = await client.post(f"/children/{child}/consents/{granted['consent_id']}/withdrawal",
                          headers=auth("parent", children=[child]))
    assert r.status_code == 409
    assert (await client.post(f"/children/{child}/consents", json=grant_body(categories=["x"]),
                              headers=auth("setting"))).status_code == 422
    assert (await client.post(f"/children/{child}/consents", json=grant_body(),
                              headers=auth("other_setting"))).status_code == 404

    events = await consent_events.read(at_least=3, settle_s=2.0)
    assert [(str(e.id), e.type) for e in events] == [
        (granted["event_id"], "tac.consent.consent_granted.v1"),
        (withdrawn["event_id"], "tac.consent.consent_withdrawn.v1"),
        (safeguarding["event_id"], "tac.consent.safeguarding_access_granted.v1"),
    ]
    assert {e.subject for e in events} == {child}
    assert str(events[1].data.consent_id) == granted["consent_id"]


async def test_the_service_learns_a_childs_setting_once_however_often_registration_is_delivered(
    live_service, kafka_bootstrap, topics
):
    child = uuid4()
    registered = child_registered(child)
    concern = make_envelope(
        ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
                      summary="Few words at 2y3m"),
        subject=child, actor=registered.actor, source="/tac/referrals",
    )
    await publish(kafka_bootstrap, topics["referrals"], registered, concern, registered)
    await until_known(live_service, child)
    consumer = live_service.app.state.children_consumer
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while consumer.handled < 3 and loop.time() < deadline:
        await asyncio.sleep(0.1)
    assert consumer.handled == 3 and consumer.dead_lettered == 0
    with live_service.deps.sessions() as session:
        processed = session.execute(select(store.processed_events.c.event_id)).scalars().all()
        rows = session.execute(select(store.children)).all()
    assert processed == [str(registered.id)]  # the concern is not this service's business
    assert [(r.child_id, r.setting_organisation_id) for r in rows] == [(str(child), SETTING)]


# -- only after commit ----------------------------------------------------------------------


def holding_commits(reached: threading.Event, release: threading.Event):
    """A before-commit hook that waits until the test lets the commit go: the moment between
    writing the outbox row and committing, made visible."""

    def hook(session: Session) -> None:
        reached.set()
        assert release.wait(30), "the test never released the commit"

    return hook


def failing_commits(session: Session) -> None:
    """A before-commit hook that fails, as when the database goes away mid-transaction."""
    raise RuntimeError("database went away before the commit")


@pytest.fixture
async def store_and_relay(database_url, kafka_bootstrap, topics):
    await asyncio.to_thread(run_migrations, database_url, MIGRATIONS)
    engine = make_engine(database_url)
    producer = make_producer(kafka_bootstrap, client_id="test-consent-relay")
    await producer.start()
    try:
        yield engine, OutboxRelay(make_session_factory(engine), store.outbox, producer)
    finally:
        await producer.stop()
        engine.dispose()


def deps_with(engine, topic: str, clock: PinnedClock, before_commit=None) -> handlers.Deps:
    """Handler dependencies on `engine`; `before_commit` swaps in a session factory whose
    commits run that hook first."""
    sessions = make_session_factory(engine)
    if before_commit is not None:
        sessions = sessionmaker(engine, expire_on_commit=False)
        event.listen(sessions, "before_commit", before_commit)
    return handlers.Deps(sessions=sessions, clock=clock, consent_topic=topic, directory=DIRECTORY)


async def test_an_event_is_published_only_after_its_transaction_commits(store_and_relay, topics, consent_events):
    engine, relay = store_and_relay
    clock = PinnedClock(start_of_test())
    child = uuid4()
    handlers.record_referrals_event(deps_with(engine, topics["consent"], clock), child_registered(child))

    reached, release = threading.Event(), threading.Event()
    deps = deps_with(engine, topics["consent"], clock, holding_commits(reached, release))
    granting = asyncio.create_task(asyncio.to_thread(handlers.grant_consent, deps, SENCO, child, grant_command()))
    assert await asyncio.to_thread(reached.wait, 30)
    # The outbox row is written but not committed. The relay finds nothing to publish
    # (PostgreSQL), or waits for the writer's lock (SQLite): either way the topic stays empty.
    relaying = asyncio.create_task(relay.run_once())
    assert await consent_events.read(at_least=1, timeout_s=2, settle_s=0) == []

    release.set()
    result = await granting
    await relaying
    while await relay.run_once():
        pass
    events = await consent_events.read(at_least=1)
    assert [str(e.id) for e in events] == [str(result["event_id"])]


async def test_a_transaction_that_fails_rolls_back_and_publishes_nothing(store_and_relay, topics, consent_events):
    engine, relay = store_and_relay
    clock = PinnedClock(start_of_test())
    child = uuid4()
    healthy = deps_with(engine, topics["consent"], clock)
    handlers.record_referrals_event(healthy, child_registered(child))
    failing = deps_with(engine, topics["consent"], clock, failing_commits)

    with pytest.raises(RuntimeError, match="went away"):
        handlers.grant_consent(failing, SENCO, child, grant_command())
    with pytest.raises(RuntimeError, match="went away"):
        handlers.grant_safeguarding_access(failing, DSL, child, domain.GrantSafeguardingAccess(JUSTIFICATION))

    assert await relay.run_once() == 0
    with healthy.sessions() as session:
        assert session.execute(select(store.consents)).all() == []
        assert session.execute(select(store.outbox)).all() == []
    assert await consent_events.read(at_least=1, timeout_s=2, settle_s=0) == []


# -- expiry, exactly once -------------------------------------------------------------------


async def test_expiry_and_its_reminder_are_published_once_each_across_restarts(
    database_url, kafka_bootstrap, topics, consent_events
):
    await asyncio.to_thread(run_migrations, database_url, MIGRATIONS)
    clock = PinnedClock(start_of_test())
    child = uuid4()

    async def run_service_once(steps) -> int:
        """Start the store and relay as a fresh process would, do `steps`, publish, stop."""
        engine = make_engine(database_url)
        producer = make_producer(kafka_bootstrap, client_id="test-consent-expiry")
        await producer.start()
        try:
            deps = deps_with(engine, topics["consent"], clock)
            emitted = await asyncio.to_thread(steps, deps)
            relay = OutboxRelay(make_session_factory(engine), store.outbox, producer)
            while await relay.run_once():
                pass
            return emitted
        finally:
            await producer.stop()
            engine.dispose()

    def grant(deps) -> int:
        handlers.record_referrals_event(deps, child_registered(child))
        handlers.grant_consent(deps, SENCO, child, grant_command(expires_at=clock.now + timedelta(days=40)))
        return expiry.emit_due_notices(deps)

    assert await run_service_once(grant) == 0  # 40 days to go: nothing due yet
    clock.advance(days=10)
    assert await run_service_once(expiry.emit_due_notices) == 1  # the 30-day reminder
    assert await run_service_once(expiry.emit_due_notices) == 0  # restarted: not again
    clock.advance(days=30)
    assert await run_service_once(expiry.emit_due_notices) == 1  # expired
    assert await run_service_once(expiry.emit_due_notices) == 0  # restarted: not again
    clock.advance(days=365)
    assert await run_service_once(expiry.emit_due_notices) == 0

    events = await consent_events.read(at_least=3, settle_s=2.0)
    assert [e.type for e in events] == [
        "tac.consent.consent_granted.v1",
        "tac.consent.consent_expiry_reminder_due.v1",
        "tac.consent.consent_expired.v1",
    ]
    granted = events[0].data
    assert events[1].data.consent_id == granted.consent_id == events[2].data.consent_id
    assert events[2].data.expired_at == granted.expires_at
    assert events[2].actor.role == "system"


async def test_a_racing_second_expiry_task_emits_nothing_more(store_and_relay, topics, consent_events):
    engine, relay = store_and_relay
    clock = PinnedClock(start_of_test())
    child = uuid4()
    deps = deps_with(engine, topics["consent"], clock)
    handlers.record_referrals_event(deps, child_registered(child))
    handlers.grant_consent(deps, SENCO, child, grant_command(expires_at=clock.now + timedelta(days=1)))
    clock.advance(days=1)

    # Both replicas read the same due consents before either emits.
    seen_by_first = expiry.due_consents(deps)
    seen_by_second = expiry.due_consents(deps)
    assert expiry.emit_notices(deps, seen_by_first) == 1
    assert expiry.emit_notices(deps, seen_by_second) == 0

    while await relay.run_once():
        pass
    events = await consent_events.read(at_least=2, settle_s=2.0)
    assert [e.type for e in events] == ["tac.consent.consent_granted.v1", "tac.consent.consent_expired.v1"]


async def test_the_running_service_emits_expiry_from_its_background_task(
    database_url, kafka_bootstrap, topics, consent_events
):
    clock = PinnedClock(start_of_test())
    settings = settings_for(database_url, kafka_bootstrap, consent_topic=topics["consent"],
                            referrals_topic=topics["referrals"], deadletter_topic=topics["deadletter"],
                            run_children_consumer=False, expiry_interval_s=0.2)
    app = build_app(settings, clock=clock, directory=DIRECTORY)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://consent") as client:
            service = Service(client, app, clock, settings)
            child = service.register_child()
            granted = await service.grant(child, expires_at=(clock.now + timedelta(hours=1)).isoformat())
            # Less than 30 days to go: the reminder is due at once.
            before = await consent_events.read(at_least=2, settle_s=0.5)
            clock.advance(hours=1)
            after = await consent_events.read(at_least=3, settle_s=1.0)
    assert [e.type for e in before] == ["tac.consent.consent_granted.v1", "tac.consent.consent_expiry_reminder_due.v1"]
    assert [e.type for e in after] == [e.type for e in before] + ["tac.consent.consent_expired.v1"]
    events = after
    assert str(events[-1].data.consent_id) == granted["consent_id"]


async def test_a_withdrawal_is_answered_only_once_its_event_is_on_the_topic(live_service, consent_events,
                                                                             kafka_bootstrap, topics):
    """So the timeline's next read, which waits for what is on the topic, never races the relay."""
    child = uuid4()
    await publish(kafka_bootstrap, topics["referrals"], child_registered(child))
    await until_known(live_service, child)
    granted = await live_service.grant(child)
    r = await live_service.client.post(f"/children/{child}/consents/{granted['consent_id']}/withdrawal",
                                       headers=auth("parent", children=[child]))
    assert r.status_code == 201, r.text
    withdrawn = r.json()["event_id"]
    # At the answer, the relay has had the broker's acknowledgement (sent_at is set after it).
    rows = {row.event_id: row.sent_at for row in live_service.outbox_rows()}
    assert rows[withdrawn] is not None
    events = await consent_events.read(at_least=2, settle_s=0.5)
    assert withdrawn in {str(e.id) for e in events}
