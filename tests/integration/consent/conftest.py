"""Fixtures for the consent service's integration tests: the app on a fresh database (SQLite
and PostgreSQL, from tests/conftest.py), a pinned clock, tokens for the people involved, the
child registrations the service learns from tac.referrals.v1, and a reader of a real topic."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select

from schemas.catalogue import make_envelope, parse_event
from schemas.envelope import Actor, EnvelopeBase
from schemas.events.referrals import ChildRegistered, TeamMemberJoined, TeamMemberLeft
from schemas.vocabulary import DSL_ROLE, Agency, TeamJoinRoute, TeamLeaveRoute
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.common.directory import Directory, NationalCode, Organisation
from services.consent.adapters import store
from services.consent.service_layer import handlers
from services.consent.bootstrap import build_app
from services.consent.config import ConsentSettings

SETTING = "sunflowers-nursery"
# Who acts, for which organisation (DESIGN §1).
PEOPLE = {
    "setting": ("senco-amy", SETTING, Agency.SETTING, "senco"),
    "other_setting": ("senco-bob", "acorns-preschool", Agency.SETTING, "senco"),
    "slt": ("slt-eve", "nhs-slt-east", Agency.SLT_SERVICE, "slt"),
    "ep": ("ep-fay", "ep-service-city", Agency.EP_SERVICE, "educational_psychologist"),
    "setting_dsl": ("dsl-hana", SETTING, Agency.SETTING, DSL_ROLE),
    "slt_dsl": ("dsl-sam", "nhs-slt-east", Agency.SLT_SERVICE, DSL_ROLE),
    "stranger": ("senco-kit", "westshire-inclusion", Agency.AREA_SENCO, "area_senco"),
    "stranger_dsl": ("dsl-kim", "westshire-inclusion", Agency.AREA_SENCO, DSL_ROLE),
}

# The organisation directory the service checks recipients against in these tests.
DIRECTORY = Directory.of(*(
    Organisation(id=org, name=name, agency=agency, national_code=NationalCode(scheme="urn", value=f"T{i}"))
    for i, (org, name, agency) in enumerate([
        (SETTING, "Sunflowers Nursery", Agency.SETTING),
        ("acorns-preschool", "Acorns Preschool", Agency.SETTING),
        ("nhs-slt-east", "East Speech and Language Therapy", Agency.SLT_SERVICE),
        ("ep-service-city", "City EP Service", Agency.EP_SERVICE),
        ("westshire-inclusion", "Westshire Early Years Inclusion", Agency.AREA_SENCO),
    ])))


def token(who: str, *, children: Iterable[UUID] = (), **overrides) -> str:
    if who == "parent":
        fields = dict(practitioner="parent-kim", organisation=None, agency=Agency.PARENT, role="parent",
                      children=children)
    else:
        person, org, agency, role = PEOPLE[who]
        fields = dict(practitioner=person, organisation=org, agency=agency, role=role)
    fields.update(issuer="tac-dev", audience="tac")
    fields.update(overrides)
    return issue_token(dev_private_key_pem(), **fields)


def auth(who: str, **kw) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(who, **kw)}"}


class PinnedClock:
    """The injectable clock: tests move "now" by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def grant_body(**changes) -> dict:
    body = {
        "given_by": {"name": "Kim Parker", "relationship": "mother", "has_parental_responsibility": True},
        "recipients": {"organisation_ids": ["nhs-slt-east"], "agencies": ["area_senco"]},
        "categories": ["concern", "slt"],
        "purposes": ["referral"],
    }
    body.update(changes)
    return body


JUSTIFICATION = "Child disclosed harm at drop-off; strategy discussion with children's social care today."


@dataclass
class Service:
    client: httpx.AsyncClient
    app: object
    clock: PinnedClock
    settings: ConsentSettings

    @property
    def deps(self) -> handlers.Deps:
        return self.app.state.consent_deps

    def register_child(self, setting: str = SETTING, child_id: UUID | None = None) -> UUID:
        """Feed a ChildRegistered into the service's copy, exactly as its consumer does."""
        child_id = child_id or uuid.uuid4()
        handlers.record_referrals_event(self.deps, child_registered(child_id, setting, at=self.clock()))
        return child_id

    def join_team(self, child_id: UUID, who: str = "slt") -> None:
        """Feed a TeamMemberJoined (the organisation of `who` accepted a referral)."""
        _, org, agency, _ = PEOPLE[who]
        handlers.record_referrals_event(self.deps, team_event(child_id, TeamMemberJoined(
            organisation_id=org, agency=agency, role=agency.value, joined_through=TeamJoinRoute.REFERRAL_ACCEPTED), self.clock()))

    def leave_team(self, child_id: UUID, who: str = "slt") -> None:
        _, org, _, _ = PEOPLE[who]
        handlers.record_referrals_event(self.deps, team_event(child_id, TeamMemberLeft(
            organisation_id=org, ended_by=TeamLeaveRoute.LEFT), self.clock()))

    async def grant(self, child_id: UUID, who: str = "setting", **changes) -> dict:
        r = await self.client.post(f"/children/{child_id}/consents", json=grant_body(**changes), headers=auth(who))
        assert r.status_code == 201, r.text
        return r.json()

    def outbox_rows(self) -> list:
        with self.deps.sessions() as session:
            return list(session.execute(select(store.outbox).order_by(store.outbox.c.id)))

    def outbox_count(self) -> int:
        with self.deps.sessions() as session:
            return session.execute(select(func.count()).select_from(store.outbox)).scalar_one()


def child_registered(child_id: UUID, setting: str = SETTING, at: datetime | None = None) -> EnvelopeBase:
    actor = Actor(practitioner_id="senco-amy", organisation_id=setting, agency=Agency.SETTING, role="senco")
    return make_envelope(ChildRegistered(setting_organisation_id=setting), subject=child_id, actor=actor,
                         source="/tac/referrals", time=at)


def team_event(child_id: UUID, data, at: datetime) -> EnvelopeBase:
    actor = Actor(practitioner_id="senco-amy", organisation_id=SETTING, agency=Agency.SETTING, role="senco")
    return make_envelope(data, subject=child_id, actor=actor, source="/tac/referrals", time=at)


def settings_for(database_url: str, bootstrap: str = "127.0.0.1:9092", **overrides) -> ConsentSettings:
    return ConsentSettings(environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap, **overrides)


def start_of_test() -> datetime:
    # Tokens are checked against the real clock; the service's clock starts at the real "now"
    # and is then moved by hand.
    return datetime.now(timezone.utc).replace(microsecond=0)


OFFLINE = dict(run_outbox_relay=False, run_children_consumer=False, run_expiry_task=False)


@pytest.fixture
async def service(database_url):
    """The API on a fresh store, without Kafka: for rules, refusals and the outbox rows."""
    clock = PinnedClock(start_of_test())
    settings = settings_for(database_url, **OFFLINE)
    app = build_app(settings, clock=clock, directory=DIRECTORY)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://consent") as client:
            yield Service(client, app, clock, settings)


class TopicReader:
    """Reads a fresh topic from its beginning with a throwaway consumer."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"test-consent-{uuid.uuid4().hex}",
                                         enable_auto_commit=False, auto_offset_reset="earliest")
        self.seen: list[EnvelopeBase] = []

    async def start(self) -> None:
        await self.consumer.start()
        partitions = None
        for _ in range(100):
            await self.consumer._client.force_metadata_update()
            partitions = self.consumer.partitions_for_topic(self.topic)
            if partitions:
                break
            await asyncio.sleep(0.1)
        assert partitions, f"topic {self.topic} has no partitions"
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read(self, *, at_least: int, timeout_s: float = 30.0, settle_s: float = 1.5) -> list[EnvelopeBase]:
        """Everything on the topic so far: waits for `at_least` events, then `settle_s` more so
        that an extra (duplicated) event would be seen too."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        settle_until = None
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                self.seen.extend(parse_event(r.value) for r in records)
            now = loop.time()
            if len(self.seen) >= at_least and settle_until is None:
                settle_until = now + settle_s
            if (settle_until is not None and now >= settle_until) or now >= deadline:
                return list(self.seen)
