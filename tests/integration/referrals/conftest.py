"""Fixtures for the referrals service's integration tests: the app on a fresh database (SQLite
and PostgreSQL, from tests/conftest.py), a pinned clock, tokens for the people of DESIGN §1,
consent fed into the service's own copy, and a reader of the real tac.referrals.v1 topic."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timedelta, timezone
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from sqlalchemy import select

from schemas.catalogue import make_envelope, parse_event
from schemas.envelope import Actor, EnvelopeBase
from schemas.events.consent import ConsentGiver, ConsentGranted, ConsentWithdrawn, Recipients
from schemas.topics import REFERRALS
from schemas.vocabulary import Agency, Category, Purpose
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.referrals.bootstrap import build_app
from services.referrals.config import ReferralsSettings
from services.referrals.adapters import tables as store
from services.referrals.entrypoints.consent_consumer import ConsentCopy

# The people of DESIGN §1, each acting for one organisation.
PEOPLE = {
    "setting": ("senco-amy", "sunflowers-nursery", Agency.SETTING, "senco"),
    "other_setting": ("senco-bob", "acorns-preschool", Agency.SETTING, "senco"),
    "area_senco": ("asenco-cat", "la-inclusion-north", Agency.AREA_SENCO, "area_senco"),
    "area_senco_south": ("asenco-dan", "la-inclusion-south", Agency.AREA_SENCO, "area_senco"),
    "slt": ("slt-eve", "nhs-slt-east", Agency.SLT_SERVICE, "slt"),
    "ep": ("ep-fay", "ep-service-city", Agency.EP_SERVICE, "educational_psychologist"),
    "hv": ("hv-gus", "hv-team-west", Agency.HEALTH_VISITING, "health_visitor"),
    "hv_east": ("hv-zoe", "hv-team-east", Agency.HEALTH_VISITING, "health_visitor"),
    # The SLT's organisation id in a token that says another agency (a misissued or mistyped token).
    "slt_as_ep": ("slt-eve", "nhs-slt-east", Agency.EP_SERVICE, "educational_psychologist"),
    "family": ("fw-hal", "family-hub-central", Agency.CHILDRENS_CENTRE, "family_worker"),
    "la": ("case-ivy", "la-sen-team", Agency.LA_SEN_TEAM, "sen_caseworker"),
    "school": ("teacher-jo", "oak-primary", Agency.SCHOOL, "reception_teacher"),
    # SCENARIO.md step 13: an area SENCO team of another authority, on no child's team.
    "stranger": ("kit-ward", "westshire-inclusion", Agency.AREA_SENCO, "area_senco"),
}


def token(who: str, *, children: Iterable[UUID] = ()) -> str:
    return _token(who, tuple(sorted(children, key=str)))


@functools.lru_cache(maxsize=256)
def _token(who: str, children: tuple[UUID, ...]) -> str:
    if who == "parent":
        return issue_token(dev_private_key_pem(), practitioner="parent-kim", organisation=None, agency=Agency.PARENT,
                           role="parent", children=children, issuer="tac-dev", audience="tac")
    person, org, agency, role = PEOPLE[who]
    return issue_token(dev_private_key_pem(), practitioner=person, organisation=org, agency=agency, role=role,
                       issuer="tac-dev", audience="tac")


def auth(who: str, **kw) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(who, **kw)}"}


class PinnedClock:
    """The injectable clock: tests move "now" by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_date(self, year: int, month: int, day: int) -> None:
        self.now = datetime(year, month, day, 10, 0, tzinfo=timezone.utc)


@dataclass
class Service:
    client: httpx.AsyncClient
    app: object
    clock: PinnedClock
    settings: ReferralsSettings

    def grant_consent(self, child_id: UUID, *, organisations: Iterable[str] = (), agencies: Iterable[Agency] = (),
                      categories: Iterable[Category] = (Category.REFERRAL,), days: int = 365) -> UUID:
        """Feed a ConsentGranted into the service's consent copy, exactly as its consumer does."""
        consent_id = uuid.uuid4()
        start = self.clock.now - timedelta(days=1)
        envelope = consent_envelope(child_id, ConsentGranted(
            consent_id=consent_id,
            given_by=ConsentGiver(person_id="parent-kim", relationship="mother", has_parental_responsibility=True),
            recorded_on_behalf=True, recipients=Recipients(organisation_ids=tuple(organisations), agencies=tuple(agencies)),
            categories=tuple(categories), purposes=(Purpose.REFERRAL,), valid_from=start, expires_at=start + timedelta(days=days),
        ))
        ConsentCopy(self.app.state.deps.sessions).apply(envelope)
        return consent_id

    def withdraw_consent(self, child_id: UUID, consent_id: UUID) -> None:
        ConsentCopy(self.app.state.deps.sessions).apply(consent_envelope(child_id, ConsentWithdrawn(
            consent_id=consent_id, withdrawn_at=self.clock.now, recorded_on_behalf=False)))

    def outbox(self, child_id: UUID | None = None, *, kind: str | None = None) -> list[EnvelopeBase]:
        """The events this service has queued (in order), optionally about one child, of one kind
        (e.g. "integrated_review_window_opened")."""
        return outbox_events(self.app, child_id, kind=kind)

    async def join_by_invitation(self, child_id: UUID, who: str, *, inviter: str = "setting",
                                 consent: bool = True) -> UUID:
        """Put `who`'s organisation on the child's team the only way an organisation asks for
        nothing: the setting invites it and it accepts. An invitation names the child to the
        organisation, so it needs a consent covering it for `referral`: with `consent`, one
        naming the organisation is granted first. Returns the invitation id."""
        organisation = PEOPLE[who][1]
        if consent:
            self.grant_consent(child_id, organisations=[organisation], categories=[Category.REFERRAL])
        r = await self.client.post(f"/children/{child_id}/invitations", headers=auth(inviter),
                                   json={"organisation_id": organisation})
        assert r.status_code == 201, r.text
        invitation = r.json()["invitation_id"]
        r = await self.client.post(f"/invitations/{invitation}/accept", headers=auth(who))
        assert r.status_code == 200, r.text
        return UUID(invitation)

    async def register(self, who: str = "setting", **body) -> UUID:
        body = {"given_name": "Alfie", "family_name": "Example", "date_of_birth": "2023-03-15", **body}
        r = await self.client.post("/children", json=body, headers=auth(who))
        assert r.status_code == 201, r.text
        return UUID(r.json()["child_id"])


def outbox_events(app, child_id: UUID | None = None, *, kind: str | None = None) -> list[EnvelopeBase]:
    with app.state.deps.sessions() as session:
        payloads = session.execute(select(store.outbox.c.payload).order_by(store.outbox.c.id)).scalars().all()
    events = [parse_event(p) for p in payloads]
    return [e for e in events if (child_id is None or e.subject == child_id)
            and (kind is None or e.type == f"tac.referrals.{kind}.v1")]


def consent_envelope(child_id: UUID, data) -> EnvelopeBase:
    actor = Actor(practitioner_id="consent-officer", organisation_id="sunflowers-nursery", agency=Agency.SETTING, role="senco")
    return make_envelope(data, subject=child_id, actor=actor, source="/tac/consent")


DIRECTORY = Path(__file__).resolve().parent / "organisations.yaml"


def settings_for(database_url: str, bootstrap: str = "127.0.0.1:9092", **overrides) -> ReferralsSettings:
    return ReferralsSettings(environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap,
                             directory_path=DIRECTORY, **overrides)


async def start_service(database_url: str, bootstrap: str, **overrides):
    clock = PinnedClock(datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc))
    settings = settings_for(database_url, bootstrap, **overrides)
    app = build_app(settings, clock=clock)
    return app, clock, settings


@pytest.fixture
async def service(database_url):
    """The API on a fresh store, without Kafka: for rules, refusals and caseloads."""
    app, clock, settings = await start_service(database_url, "127.0.0.1:9092", run_outbox_relay=False, run_consent_consumer=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://referrals") as client:
            yield Service(client, app, clock, settings)


@pytest.fixture
async def live_service(database_url, kafka_bootstrap):
    """The API with its outbox relay publishing to the real tac.referrals.v1."""
    app, clock, settings = await start_service(database_url, kafka_bootstrap, run_consent_consumer=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://referrals") as client:
            yield Service(client, app, clock, settings)


class TopicReader:
    """Reads a real topic from the offsets it had when the test began, with a fresh consumer
    group, keeping only the events about the test's own children."""

    def __init__(self, bootstrap: str, topic: str, parse=parse_event):
        self.bootstrap, self.topic, self.parse = bootstrap, topic, parse
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"test-referrals-{uuid.uuid4().hex}",
                                         enable_auto_commit=False, auto_offset_reset="earliest")
        self.seen: list[EnvelopeBase] = []

    async def start(self) -> None:
        await self.consumer.start()
        partitions = None
        for _ in range(50):
            await self.consumer._client.force_metadata_update()  # as tests/conftest.py does
            partitions = self.consumer.partitions_for_topic(self.topic)
            if partitions:
                break
            await asyncio.sleep(0.1)
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions or ())]
        assert tps, f"topic {self.topic} has no partitions"
        self.consumer.assign(tps)
        ends = await self.consumer.end_offsets(tps)
        for tp in tps:
            self.consumer.seek(tp, ends[tp])

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read(self, child_ids: Iterable[UUID], *, at_least: int, timeout_s: float = 30.0, settle_s: float = 1.5,
                   keep=None) -> list:
        """Events about `child_ids` in arrival order: waits for `at_least`, then `settle_s` more
        so that an extra (duplicated) event would be seen too. `keep` replaces the child filter."""
        wanted = set(child_ids)
        keep = keep or (lambda message: message.subject in wanted)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        settle_until = None
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    message = self.parse(record.value)
                    if keep(message):
                        self.seen.append(message)
            mine = [m for m in self.seen if keep(m)]
            now = loop.time()
            if len(mine) >= at_least and settle_until is None:
                settle_until = now + settle_s
            if (settle_until is not None and now >= settle_until) or now >= deadline:
                return mine


@pytest.fixture
async def referrals_topic(kafka_bootstrap):
    reader = TopicReader(kafka_bootstrap, REFERRALS.name)
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()
