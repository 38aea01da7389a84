"""The soak's workload: children set up through the real APIs, then a paced stream of events
straight onto the topics (every case event type the services do not need to have produced
themselves) while a churn of API calls raises concerns, grants, withdraws and lets consents
expire, removes organisations from teams and adds them back, and reads timelines.

Facts another service keeps a copy of are only ever made through the API of the service that
owns them (consent events by the consent service; registration and team changes by the
referrals service), as in production: an event of those types put straight onto a topic would
be missing from its owner's store by construction, not by a fault.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaProducer

from consent_policy.state import FOLDED_TYPES
from demo.cast import DANA, GRACE, HANNAH, JO, LEE, MARIA, PRIYA, SAM, Person
from schemas.catalogue import make_envelope
from schemas.envelope import Actor, Event
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.kafka_binding import kafka_headers
from schemas.vocabulary import Agency
from tests.unit.schemas.contract_examples import EXAMPLES

# Straight onto the topics: every case event type but those whose owner keeps them
# (registration and team changes), and the consent service's expiry reminder.
DIRECT_TYPES: tuple[type[Event], ...] = tuple(
    cls for cls in r.EVENTS if cls.TYPE not in FOLDED_TYPES) + (c.ConsentExpiryReminderDue,)
AUTHORS = (PRIYA, DANA, SAM, GRACE, LEE, MARIA, JO)
ORGS = tuple(sorted({p.organisation_id for p in AUTHORS}))
# The subscribed practitioners: their organisations are on the team of the watched children
# only, so what the soak delivers stays in proportion (every other child's entries still reach
# the notifications service, which finds nobody subscribed to tell).
WATCHERS = (SAM, GRACE)
WATCHED_ORGS = tuple(p.organisation_id for p in WATCHERS)
OTHER_ORGS = (DANA.organisation_id, JO.organisation_id)
SECRET = "chaos-webhook-secret-0123456789"
RETRY_STATUS = frozenset({403, 404, 409, 500, 502, 503, 504})


def parent_of(index: int) -> Person:
    return Person(f"chaos-parent-{index}", f"Parent {index}", None, None, Agency.PARENT, "parent")


@dataclass
class Child:
    index: int
    child_id: UUID
    watched: bool
    parent: Person
    consents: list[UUID] = field(default_factory=list)  # granted and not (yet) withdrawn
    team_out: set[str] = field(default_factory=set)  # watched organisations removed, to add back
    subscribed_at: float | None = None  # when the parent's subscription had been made (time.time())


@dataclass
class Tally:
    direct: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    api_failures: int = 0  # calls given up after retrying (nothing is assumed of them)
    refused: dict[str, int] = field(default_factory=dict)  # answers no retry mends, by first words

    def count(self, what: str) -> None:
        self.api_calls[what] = self.api_calls.get(what, 0) + 1


class ApiClient:
    """The services' HTTP APIs as the cast; retried through kills and restarts, since a
    service killed mid-request answers nothing and one catching up answers 404/409."""

    def __init__(self, urls: dict[str, str], tally: Tally) -> None:
        self.urls = urls
        self.tally = tally
        self.http = httpx.AsyncClient(timeout=10.0)
        self._tokens: dict[tuple[str, tuple[UUID, ...]], str] = {}

    def _token(self, person: Person, children: tuple[UUID, ...]) -> str:
        key = (person.key, children)
        if key not in self._tokens:
            self._tokens[key] = person.token(children=children)
        return self._tokens[key]

    async def call(self, what: str, person: Person, method: str, service: str, path: str, *, json: dict | None = None,
                   children: tuple[UUID, ...] = (), done: tuple[int, ...] = (200, 201), within_s: float = 90.0
                   ) -> dict | None:
        deadline = time.monotonic() + within_s
        headers = {"Authorization": f"Bearer {self._token(person, children)}"}
        while True:
            try:
                response = await self.http.request(method, self.urls[service] + path, json=json, headers=headers)
                if response.status_code in done:
                    self.tally.count(what)
                    return response.json() if response.content else {}
                if response.status_code not in RETRY_STATUS:
                    raise RuntimeError(f"{what}: {method} {service}{path} -> {response.status_code} {response.text[:300]}")
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.tally.api_failures += 1
                return None
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        await self.http.aclose()


def _grant_body(recipients: dict, categories: list[str], expires_in_s: float | None = None) -> dict:
    body = {"given_by": {"name": "A parent", "relationship": "mother", "has_parental_responsibility": True},
            "recipients": recipients, "categories": categories, "purposes": ["referral", "coordination"]}
    if expires_in_s is not None:
        body["expires_at"] = (datetime.now(timezone.utc) + timedelta(seconds=expires_in_s)).isoformat()
    return body


WATCHED_GRANTS = (
    ({"organisation_ids": [SAM.organisation_id]}, ["concern", "referral", "slt", "progress"]),
    ({"agencies": ["health_visiting"]}, ["concern", "health", "progress", "ehc"]),
)
OTHER_GRANT = ({"agencies": ["area_senco", "childrens_centre"]}, ["concern", "referral", "progress", "family_support"])


class Workload:
    def __init__(self, api: ApiClient, receivers_url, rng: random.Random) -> None:
        self.api = api
        self.webhook_url = receivers_url
        self.rng = rng
        self.children: list[Child] = []

    # -- set-up, through the APIs -----------------------------------------------------------

    async def subscribe_watchers(self) -> None:
        for person in WATCHERS:
            await self.api.call("subscribe", person, "PUT", "notifications", "/subscriptions/me", json={
                "email": f"{person.key}@example.test", "webhook_url": self.webhook_url(f"/{person.key}"),
                "webhook_secret": SECRET})

    async def set_up_children(self, count: int, watched: int, concurrency: int = 8) -> None:
        """Register every child first, then (once the other services have had time to consume
        the registrations) subscribe parents, build teams and grant consents."""
        dob = (date.today() - timedelta(days=200)).isoformat()  # every statutory date far ahead
        registered: list[Child] = []

        async def in_parallel(items, step) -> None:
            pending = iter(items)

            async def worker() -> None:
                for item in pending:
                    await step(item)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        async def register(i: int) -> None:
            made = await self.api.call("register child", PRIYA, "POST", "referrals", "/children", json={
                "given_name": f"Child{i}", "family_name": "Chaos", "date_of_birth": dob})
            if made:
                registered.append(Child(i, UUID(str(made["child_id"])), i < watched, parent_of(i)))

        async def equip(child: Child) -> None:
            cid = (child.child_id,)
            if child.watched:
                await self.api.call("subscribe", child.parent, "PUT", "notifications", "/subscriptions/me",
                                    children=cid, json={"email": f"{child.parent.key}@example.test",
                                                        "webhook_url": self.webhook_url(f"/{child.parent.key}"),
                                                        "webhook_secret": SECRET})
                child.subscribed_at = time.time()
            for org in (WATCHED_ORGS if child.watched else OTHER_ORGS):
                await self.add_to_team(child, org)
            for recipients, categories in (WATCHED_GRANTS if child.watched else (OTHER_GRANT,)):
                await self.grant(child, recipients, categories)
            self.children.append(child)

        await in_parallel(range(count), register)
        await in_parallel(sorted(registered, key=lambda ch: ch.index), equip)

    async def add_to_team(self, child: Child, org: str) -> None:
        if await self.api.call("team add", child.parent, "POST", "referrals", f"/children/{child.child_id}/team",
                               json={"organisation_id": org}, children=(child.child_id,), done=(200, 201, 409),
                               within_s=60):
            child.team_out.discard(org)

    async def grant(self, child: Child, recipients: dict, categories: list[str], expires_in_s: float | None = None
                    ) -> None:
        made = await self.api.call("consent grant", PRIYA, "POST", "consent", f"/children/{child.child_id}/consents",
                                   json=_grant_body(recipients, categories, expires_in_s))
        if made:
            child.consents.append(UUID(str(made["consent_id"])))

    # -- the churn, through the APIs -----------------------------------------------------------

    async def churn(self, stop: asyncio.Event, rate_per_s: float, concurrency: int = 4) -> None:
        async def worker() -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await self._one_change()
                except RuntimeError as exc:  # an answer no retry mends: counted and shown, the churn goes on
                    self.api.tally.refused.setdefault(str(exc)[:160], 0)
                    self.api.tally.refused[str(exc)[:160]] += 1
                await asyncio.sleep(max(0.0, concurrency / rate_per_s - (time.monotonic() - started)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def _one_change(self) -> None:
        rng = self.rng
        watched = [ch for ch in self.children if ch.watched]
        child = rng.choice(watched) if watched and rng.random() < 0.6 else rng.choice(self.children)
        cid = child.child_id
        roll = rng.random()
        if roll < 0.30:
            await self.api.call("concern", PRIYA, "POST", "referrals", f"/children/{cid}/concerns", json={
                "areas_of_need": ["communication_and_interaction"], "summary": "Noted during the soak."})
        elif roll < 0.50 and child.consents:
            consent_id = child.consents.pop(rng.randrange(len(child.consents)))
            await self.api.call("consent withdrawal", child.parent, "POST", "consent",
                                f"/children/{cid}/consents/{consent_id}/withdrawal", json={}, children=(cid,),
                                done=(200, 201, 409))
        elif roll < 0.70:
            recipients, categories = rng.choice(WATCHED_GRANTS if child.watched else (OTHER_GRANT,))
            # Some consents run out during the soak: the consent service's expiry publishes ConsentExpired.
            await self.grant(child, recipients, categories, rng.uniform(20, 240) if rng.random() < 0.3 else None)
        elif roll < 0.82 and child.watched:
            if child.team_out:
                await self.add_to_team(child, rng.choice(sorted(child.team_out)))
            else:
                org = rng.choice(WATCHED_ORGS)
                if await self.api.call("team remove", child.parent, "POST", "referrals",
                                       f"/children/{cid}/team/{org}/remove", json={"reason": "Soak: no longer needed"},
                                       children=(cid,), done=(200, 201, 404, 409), within_s=60):
                    child.team_out.add(org)
        elif roll < 0.85:
            await self.api.call("safeguarding access", HANNAH, "POST", "consent", f"/children/{cid}/safeguarding-access",
                                json={"justification": "Soak: a safeguarding concern raised by the nursery DSL.",
                                      "hours": 1}, done=(200, 201, 403, 409))
        else:
            await self.api.call("timeline read", PRIYA, "GET", "timeline", f"/children/{cid}/timeline")

    # -- straight onto the topics ---------------------------------------------------------------

    def direct_event(self):
        rng = self.rng
        child = rng.choice(self.children)
        cls = rng.choice(DIRECT_TYPES)
        example = EXAMPLES[cls.TYPE]
        update: dict = {}
        for name, info in type(example).model_fields.items():
            if info.annotation in (UUID, UUID | None) and getattr(example, name) is not None:
                update[name] = uuid4()
        if "requested_by_organisation_id" in type(example).model_fields:
            update["requested_by_organisation_id"] = rng.choice(ORGS)
        data = example.model_copy(update=update)
        author = rng.choice(AUTHORS)
        actor = Actor(practitioner_id=author.key, organisation_id=author.organisation_id, agency=author.agency,
                      role=author.role)
        return make_envelope(data, subject=child.child_id, actor=actor, source="bench/chaos")

    async def stream(self, bootstrap: str, total: int, duration_s: float, tally: Tally, batch: int = 50) -> None:
        """`total` events at an even pace over `duration_s`, through broker bounces: a batch the
        broker did not acknowledge is sent again (duplicates on the wire are allowed)."""
        started = time.monotonic()
        producer: AIOKafkaProducer | None = None
        sent = 0
        while sent < total:
            envelopes = [self.direct_event() for _ in range(min(batch, total - sent))]
            while True:
                try:
                    if producer is None:
                        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                                    linger_ms=5, request_timeout_ms=10_000)
                        await producer.start()
                    futures = [await producer.send(e.type and _topic(e), e.to_json_bytes(), key=e.key,
                                                   headers=[(k, v.encode()) for k, v in kafka_headers(e).items()])
                               for e in envelopes]
                    await asyncio.gather(*futures)
                    break
                except Exception:  # noqa: BLE001 - the broker is down or moving: start again
                    if producer is not None:
                        try:
                            await producer.stop()
                        except Exception:  # noqa: BLE001
                            pass
                    producer = None
                    await asyncio.sleep(1.0)
            sent += len(envelopes)
            tally.direct = sent
            ahead = sent * duration_s / total - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        if producer is not None:
            await producer.stop()


def _topic(envelope) -> str:
    from schemas.catalogue import topic_of
    return topic_of(envelope.type).name
