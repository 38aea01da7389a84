"""Timeline benchmarks on the real broker, with the real service process
(`python -m services.timeline`) on SQLite and on PostgreSQL:

1. Ingest throughput: N events already on a topic, consumed into the store by the service,
   side by side in the same run with a plain aiokafka `getmany` consume of the same events
   from the same broker (and `getmany` + contract validation, to show where the time goes).
   Steady-state rate = events after the first one seen / (time of the last - time of the
   first), the same definition for every consumer, so group joins and process start-up are
   left out of all of them alike.
2. End-to-end latency: events produced at a fixed rate, each for a new child; a poller per
   event asks the HTTP API until the entry is visible. Latency = visible - just before the
   send. Each poll is a real, recorded read (access log + TimelineViewed), as in production.
3. Read latency: GET /children/{id}/timeline for a child with 1,000 entries among 10,000
   children. That store is seeded directly with SQL (not through Kafka) to keep the run short;
   the service then serves it over HTTP.

Longer than the project's modules usually are, on purpose: a benchmark is read top to bottom
as one experiment (set-up, the three measurements side by side, the report), and splitting it
would scatter the definitions that make its figures comparable. What other benchmarks share is
in bench/common.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bench.common import create_topics, delete_topics, free_port, percentile
from schemas.catalogue import make_envelope, parse_event
from schemas.envelope import Actor
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.kafka_admin import wait_for_broker
from services.timeline.adapters import store as tables
from services.timeline.bootstrap import MIGRATIONS
from services.timeline.adapters.store import TimelineStore

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("TAC_TEST_POSTGRES_URL", "postgresql+psycopg://tac:tac@127.0.0.1:5432/tac_test")
ISSUER, AUDIENCE = "tac-dev", "tac"

SETTING = Actor(practitioner_id="priya", organisation_id="sunflower-nursery", agency=Agency.SETTING, role="senco")
SLT = Actor(practitioner_id="sam", organisation_id="nhs-slt-north", agency=Agency.SLT_SERVICE, role="slt")
EP = Actor(practitioner_id="eve", organisation_id="ep-north", agency=Agency.EP_SERVICE, role="ep")
HV = Actor(practitioner_id="hana", organisation_id="hv-north", agency=Agency.HEALTH_VISITING, role="health_visitor")


@dataclass
class BenchConfig:
    bootstrap: str = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    ingest_events: int = 20_000
    ingest_children: int = 1_000
    e2e_rate_per_s: float = 20.0
    e2e_seconds: float = 15.0
    e2e_poll_interval_s: float = 0.01
    read_children: int = 10_000
    read_entries_per_other_child: int = 10
    read_target_entries: int = 1_000
    read_requests: int = 200
    parts: tuple[str, ...] = ("ingest", "reads")  # "ingest" includes the end-to-end latency


@dataclass
class Latency:
    samples: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> "Latency":
        ms = sorted(s * 1000 for s in seconds)
        return cls(len(ms), round(percentile(ms, 50), 1), round(percentile(ms, 99), 1), round(statistics.fmean(ms), 1),
                   round(ms[-1], 1))


@dataclass
class Results:
    started_at: str
    machine: dict[str, Any]
    config: dict[str, Any]
    ingest: dict[str, Any] = field(default_factory=dict)
    e2e: dict[str, Any] = field(default_factory=dict)
    reads: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- infrastructure -----------------------------------------------------------------------


async def create_bench_topics(bootstrap: str, prefix: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    names = {kind: f"bench.{prefix}.{kind}.{suffix}" for kind in ("referrals", "consent", "audit", "deadletter")}
    await create_topics(bootstrap, list(names.values()))
    return names


class Database:
    """A fresh database for one run: a SQLite file, or a new PostgreSQL database dropped after."""

    def __init__(self, backend: str, workdir: Path):
        self.backend = backend
        self._admin = None
        if backend == "sqlite":
            self.url = f"sqlite:///{workdir / f'timeline-{uuid.uuid4().hex[:8]}.db'}"
        else:
            admin_url = make_url(POSTGRES_URL)
            self._name = f"tac_bench_{uuid.uuid4().hex[:12]}"
            self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self._name}"'))
            self.url = admin_url.set(database=self._name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
            self._admin.dispose()


class ServiceProcess:
    """`python -m services.timeline` with its own topics, group, database and port."""

    def __init__(self, bootstrap: str, database_url: str, topics: dict[str, str], workdir: Path, name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TAC_TIMELINE_")}
        self.env.update(
            TAC_ENVIRONMENT="test",
            KAFKA_BOOTSTRAP_SERVERS=bootstrap,
            TAC_TIMELINE_DATABASE_URL=database_url,
            TAC_TIMELINE_PORT=str(self.port),
            TAC_TIMELINE_REFERRALS_TOPIC=topics["referrals"],
            TAC_TIMELINE_CONSENT_TOPIC=topics["consent"],
            TAC_TIMELINE_AUDIT_TOPIC=topics["audit"],
            TAC_TIMELINE_DEADLETTER_TOPIC=topics["deadletter"],
            TAC_TIMELINE_CONSUMER_GROUP=f"bench-{name}-{uuid.uuid4().hex[:8]}",
            TAC_TIMELINE_DATADIR=str(workdir / f"{name}-faust"),
            TAC_LOG_LEVEL="WARNING",
        )
        self.process: subprocess.Popen | None = None

    async def start(self, timeout_s: float = 90) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "services.timeline"], env=self.env, cwd=REPO,
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient() as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"timeline exited ({self.process.returncode}); see {self.log_path}")
                try:
                    if (await client.get(f"{self.url}/ready", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timeline not ready after {timeout_s}s; see {self.log_path}")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def token(actor: Actor, children=()) -> str:
    return issue_token(dev_private_key_pem(), practitioner=actor.practitioner_id, organisation=actor.organisation_id,
                       agency=actor.agency, role=actor.role, children=children, issuer=ISSUER, audience=AUDIENCE,
                       ttl_s=3600)


def concern_event(child: uuid.UUID, when: datetime | None = None):
    return make_envelope(
        r.ConcernRaised(concern_id=uuid.uuid4(), areas_of_need=["communication_and_interaction"],
                        summary="Uses few words; key person noticed at 26 months"),
        subject=child, actor=SETTING, source="/tac/referrals", time=when,
    )


# -- 1. ingest ----------------------------------------------------------------------------


async def produce(bootstrap: str, topic: str, events) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=10,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        for start in range(0, len(events), 1000):
            futures = [await producer.send(topic, e.to_json_bytes(), key=e.key) for e in events[start:start + 1000]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, topic: str, expected: int, *, validate: bool) -> float:
    """Steady-state events/s of a plain aiokafka consumer (fresh group) reading the topic."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=500)
    await consumer.start()
    seen = 0
    first_at = last_at = 0.0
    first_batch = 0
    try:
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            n = 0
            for records in batches.values():
                n += len(records)
                if validate:
                    for record in records:
                        parse_event(record.value)
            if n:
                now = time.perf_counter()
                if not seen:
                    first_at, first_batch = now, n
                seen += n
                last_at = now
        await consumer.commit()
    finally:
        await consumer.stop()
    return (seen - first_batch) / (last_at - first_at)


async def service_ingest(store: TimelineStore, expected: int, timeout_s: float = 300) -> float:
    """Steady-state events/s into the store, watched from outside every 50 ms."""
    deadline = time.monotonic() + timeout_s
    first_at, first_count = 0.0, 0
    while True:
        count = await asyncio.to_thread(_count_or_zero, store)
        now = time.perf_counter()
        if count and not first_at:
            first_at, first_count = now, count
        if count >= expected:
            return (count - first_count) / (now - first_at)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count} of {expected} events ingested after {timeout_s}s")
        await asyncio.sleep(0.05)


class _CountingIngestor:
    """Stands in for the timeline's ingestor: counts, stores nothing."""

    def __init__(self) -> None:
        from services.common.pipeline import IngestStats

        self.seen = 0
        self.stats = IngestStats()

    async def ingest(self, messages) -> None:
        self.seen += len(messages)
        self.stats.stored += len(messages)


async def faust_only(bootstrap: str, topics: dict[str, str], expected: int, workdir: Path) -> float:
    """Steady-state events/s of the timeline's own Faust agent (same app, same batching and
    acks) with an ingestor that stores nothing: the cost of Faust itself."""
    from faust.contrib.asgi import faust_app_running

    from services.timeline.config import TimelineSettings
    from services.timeline.entrypoints.worker import build_faust_app

    settings = TimelineSettings(
        environment="test", kafka_bootstrap_servers=bootstrap, database_url="sqlite://",
        referrals_topic=topics["referrals"], consent_topic=topics["consent"], audit_topic=topics["audit"],
        deadletter_topic=topics["deadletter"], consumer_group=f"bench-faust-{uuid.uuid4().hex[:8]}",
        datadir=workdir / "faust-only",
    )
    counter = _CountingIngestor()
    app = build_faust_app(settings, counter)  # type: ignore[arg-type]
    async with faust_app_running(app):
        while not counter.seen:
            await asyncio.sleep(0.005)
        first_at, first = time.perf_counter(), counter.seen
        while counter.seen < expected:
            await asyncio.sleep(0.005)
        return (counter.seen - first) / (time.perf_counter() - first_at)


def _count_or_zero(store: TimelineStore) -> int:
    try:
        return store.count_processed()
    except Exception:  # noqa: BLE001 - before the service's migrations ran
        return 0


# -- 2. end to end ------------------------------------------------------------------------


async def e2e_latency(service: ServiceProcess, bootstrap: str, topic: str, config: BenchConfig) -> Latency:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=0)
    await producer.start()
    headers = {"Authorization": f"Bearer {token(SETTING)}"}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=service.url, headers=headers, limits=limits, timeout=30) as client:

        async def watch(child: uuid.UUID, sent_at: float) -> None:
            while True:
                response = await client.get(f"/children/{child}/timeline")
                if response.status_code == 200 and response.json()["entries"]:
                    latencies.append(time.perf_counter() - sent_at)
                    return
                await asyncio.sleep(config.e2e_poll_interval_s)

        watchers = []
        interval = 1 / config.e2e_rate_per_s
        count = int(config.e2e_rate_per_s * config.e2e_seconds)
        start = time.perf_counter()
        try:
            for i in range(count):
                await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
                event = concern_event(uuid.uuid4())
                sent_at = time.perf_counter()
                await producer.send(topic, event.to_json_bytes(), key=event.key)
                watchers.append(asyncio.create_task(watch(event.subject, sent_at)))
            await asyncio.wait_for(asyncio.gather(*watchers), timeout=120)
        finally:
            await producer.stop()
    return Latency.of(latencies)


# -- 3. reads -----------------------------------------------------------------------------

CATEGORY_TYPES = [
    (r.ConcernRaised.TYPE, "concern", SETTING), (r.ReferralMade.TYPE, "referral", SETTING),
    (r.SLTReportShared.TYPE, "slt", SLT), (r.EPAdviceShared.TYPE, "ep", EP),
    (r.IntegratedReviewScheduled.TYPE, "health", HV), (r.IntegratedReviewCompleted.TYPE, "progress", HV),
    (r.FamilySupportOffered.TYPE, "family_support", SETTING), (r.EHCAdviceSubmitted.TYPE, "ehc", EP),
]


def seed_reads(database_url: str, config: BenchConfig) -> tuple[uuid.UUID, int]:
    """10,000 children (one with 1,000 entries, the rest with a few each), a consent for the
    SLT service covering two categories of the target child, written straight into the store."""
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    try:
        store = TimelineStore(make_session_factory(engine))
        target = uuid.uuid4()
        base = datetime(2025, 1, 1, tzinfo=timezone.utc)
        stored_at = datetime.now(timezone.utc)

        def rows_for(child: uuid.UUID, n: int):
            for i in range(n):
                event_type, category, actor = CATEGORY_TYPES[i % len(CATEGORY_TYPES)]
                yield dict(event_id=str(uuid.uuid4()), child_id=str(child), event_type=event_type, category=category,
                           occurred_at=base + timedelta(minutes=i), author_practitioner_id=actor.practitioner_id,
                           author_organisation_id=actor.organisation_id, author_agency=str(actor.agency),
                           author_role=actor.role, summary=f"{category} entry {i} with a line of words",
                           payload=json.dumps({"summary": f"entry {i}", "n": i}), stored_at=stored_at)

        def all_rows():
            yield from rows_for(target, config.read_target_entries)
            for _ in range(config.read_children - 1):
                yield from rows_for(uuid.uuid4(), config.read_entries_per_other_child)

        total, chunk = 0, []
        with engine.begin() as conn:
            conn.execute(insert(tables.children).values(child_id=str(target), setting_organisation_id=SETTING.organisation_id,
                                                        registered_event_id=str(uuid.uuid4())))
            for row in all_rows():
                chunk.append(row)
                if len(chunk) == 5000:
                    conn.execute(insert(tables.entries), chunk)
                    total += len(chunk)
                    chunk = []
            if chunk:
                conn.execute(insert(tables.entries), chunk)
                total += len(chunk)
        now = datetime.now(timezone.utc)
        grant = make_envelope(
            c.ConsentGranted(
                consent_id=uuid.uuid4(),
                given_by=c.ConsentGiver(person_id="mum-1", relationship="mother", has_parental_responsibility=True),
                recorded_on_behalf=True, recipients=c.Recipients(agencies=(Agency.SLT_SERVICE,)),
                categories=(Category.CONCERN, Category.REFERRAL), purposes=(Purpose.REFERRAL,),
                valid_from=now - timedelta(days=30), expires_at=now + timedelta(days=330)),
            subject=target, actor=SETTING, source="/tac/consent",
        )
        # Consent reaches only the child's team (DESIGN §3 rule 5): the SLT service joins, as it
        # would on accepting a referral, so the consent-based read measures what it should.
        joined = make_envelope(
            r.TeamMemberJoined(organisation_id=SLT.organisation_id, agency=Agency.SLT_SERVICE, role="slt",
                               joined_through=TeamJoinRoute.REFERRAL_ACCEPTED),
            subject=target, actor=SLT, source="/tac/referrals",
        )
        store.ingest([grant, joined])
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        return target, total + 2  # and the consent and the join, both entries
    finally:
        engine.dispose()


async def read_latency(service: ServiceProcess, child: uuid.UUID, actor: Actor, *, children=(), limit: int,
                       requests: int) -> tuple[Latency, int]:
    headers = {"Authorization": f"Bearer {token(actor, children)}"}
    timings: list[float] = []
    shown = 0
    async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30) as client:
        for i in range(requests + 5):
            started = time.perf_counter()
            response = await client.get(f"/children/{child}/timeline", params={"limit": limit})
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            shown = len(response.json()["entries"])
            if i >= 5:  # the first few warm caches and connections
                timings.append(elapsed)
    return Latency.of(timings), shown


# -- the run ------------------------------------------------------------------------------


async def run(config: BenchConfig, workdir: Path) -> Results:
    await wait_for_broker(config.bootstrap, timeout_s=60)
    results = Results(
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                 "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        config=asdict(config),
    )
    say = lambda text: print(f"bench: {text}", flush=True)  # noqa: E731

    if "ingest" in config.parts:
        await _ingest_and_e2e(config, workdir, results, say)
    if "reads" in config.parts:
        await _reads(config, workdir, results, say)
    results.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


async def _ingest_and_e2e(config: BenchConfig, workdir: Path, results: Results, say) -> None:
    # 1. ingest, side by side with a raw consume of the very same topic.
    topics = await create_bench_topics(config.bootstrap, "ingest")
    children = [uuid.uuid4() for _ in range(config.ingest_children)]
    events = [concern_event(children[i % len(children)]) for i in range(config.ingest_events)]
    say(f"producing {len(events)} events to {topics['referrals']}")
    await produce(config.bootstrap, topics["referrals"], events)
    # A raw consume of 20,000 events takes well under a second: the median of three runs.
    raw = statistics.median([await raw_consume(config.bootstrap, topics["referrals"], len(events), validate=False)
                             for _ in range(3)])
    raw_parsed = statistics.median([await raw_consume(config.bootstrap, topics["referrals"], len(events), validate=True)
                                    for _ in range(3)])
    faust_rate = await faust_only(config.bootstrap, topics, len(events), workdir)
    say(f"raw getmany {raw:,.0f} ev/s; getmany + parse_event {raw_parsed:,.0f} ev/s; "
        f"timeline's Faust agent storing nothing {faust_rate:,.0f} ev/s")
    results.ingest["raw_getmany_events_per_s"] = round(raw)
    results.ingest["raw_getmany_and_validate_events_per_s"] = round(raw_parsed)
    results.ingest["faust_agent_storing_nothing_events_per_s"] = round(faust_rate)

    try:
        for backend in config.backends:
            db = Database(backend, workdir)
            service = ServiceProcess(config.bootstrap, db.url, topics, workdir, f"ingest-{backend}")
            engine = make_engine(db.url)
            try:
                ingest_task = asyncio.create_task(service_ingest(TimelineStore(make_session_factory(engine)), len(events)))
                await service.start()
                rate = await ingest_task
                say(f"{backend}: timeline ingest {rate:,.0f} ev/s ({rate / raw:.3f} of raw getmany)")
                results.ingest[backend] = {
                    "timeline_events_per_s": round(rate),
                    "ratio_to_raw_getmany": round(rate / raw, 4),
                    "ratio_to_getmany_and_validate": round(rate / raw_parsed, 4),
                }
                # 2. end-to-end latency, on the same running service.
                latency = await e2e_latency(service, config.bootstrap, topics["referrals"], config)
                say(f"{backend}: end-to-end p50 {latency.p50_ms} ms, p99 {latency.p99_ms} ms")
                results.e2e[backend] = asdict(latency)
            finally:
                service.stop()
                engine.dispose()
                db.drop()
    finally:
        await delete_topics(config.bootstrap, topics.values())



async def _reads(config: BenchConfig, workdir: Path, results: Results, say) -> None:
    # 3. read latency on a seeded store.
    topics = await create_bench_topics(config.bootstrap, "reads")
    try:
        for backend in config.backends:
            db = Database(backend, workdir)
            try:
                started = time.perf_counter()
                target, rows = await asyncio.to_thread(seed_reads, db.url, config)
                say(f"{backend}: seeded {rows:,} entries in {time.perf_counter() - started:.1f}s")
                service = ServiceProcess(config.bootstrap, db.url, topics, workdir, f"reads-{backend}")
                await service.start()
                try:
                    parent, parent_shown = await read_latency(
                        service, target, Actor(practitioner_id="mum-1", agency=Agency.PARENT, role="parent"),
                        children=[target], limit=1000, requests=config.read_requests)
                    slt, slt_shown = await read_latency(service, target, SLT, limit=100, requests=config.read_requests)
                finally:
                    service.stop()
                say(f"{backend}: parent read of {parent_shown} entries p50 {parent.p50_ms} ms p99 {parent.p99_ms} ms; "
                    f"SLT page of {slt_shown} p50 {slt.p50_ms} ms p99 {slt.p99_ms} ms")
                results.reads[backend] = {
                    "seeded_entries": rows,
                    "parent_all_1000": {"entries_shown": parent_shown, **asdict(parent)},
                    "slt_consent_page_100": {"entries_shown": slt_shown, **asdict(slt)},
                }
            finally:
                db.drop()
    finally:
        await delete_topics(config.bootstrap, topics.values())


def render_markdown(results: Results) -> str:
    cfg = results.config
    lines = [
        f"# Timeline benchmarks — {results.started_at}",
        "",
        f"Machine: {results.machine['cpus']} CPUs, Python {results.machine['python']}, {results.machine['platform']}. "
        "Kafka 3.9 single node on the same machine; the service runs as a real process "
        "(`python -m services.timeline`, default settings: batches of up to 500 events or 100 ms, one transaction "
        "per batch, offsets committed every second). Benchmark client, broker and service share the CPUs "
        f"(load average 1/5/15 min at start {results.machine['load_average_at_start']}, at end "
        f"{results.machine.get('load_average_at_end')}: other work on the machine shows up in these figures).",
        "Produced by `make bench` (`python -m bench.run`).",
    ]
    if results.ingest:
        raw = results.ingest["raw_getmany_events_per_s"]
        validated = results.ingest["raw_getmany_and_validate_events_per_s"]
        lines += [
            "",
            f"## Ingest throughput ({cfg['ingest_events']:,} events already on a 6-partition topic)",
            "",
            "| consumer | events/s | ratio to raw getmany |",
            "|---|---:|---:|",
            f"| raw aiokafka getmany (median of 3) | {raw:,} | 1 |",
            f"| getmany + parse_event, contract validation (median of 3) | {validated:,} | {validated / raw:.3f} |",
            f"| the timeline's Faust agent, storing nothing | {results.ingest['faust_agent_storing_nothing_events_per_s']:,} "
            f"| {results.ingest['faust_agent_storing_nothing_events_per_s'] / raw:.3f} |",
        ]
        for backend in cfg["backends"]:
            ingest = results.ingest[backend]
            lines.append(f"| timeline service → {backend} | {ingest['timeline_events_per_s']:,} | "
                         f"{ingest['ratio_to_raw_getmany']:.3f} |")
        lines += [
            "",
            "Steady-state rate for each: events after the first seen / (time of last - time of first); the service "
            "is watched from outside by counting processed events every 50 ms. The Faust row runs the service's own "
            "agent (same batching, same acks after each batch) in the benchmark process with a stand-in that "
            "stores nothing: most of the gap to raw getmany is Faust's per-message machinery, not the store.",
            "",
            f"## End-to-end latency, produce → visible through the API ({cfg['e2e_rate_per_s']:g} events/s for "
            f"{cfg['e2e_seconds']:g} s, each a new child, polled every {cfg['e2e_poll_interval_s'] * 1000:g} ms)",
            "",
            "| store | samples | p50 ms | p99 ms | mean ms | max ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for backend in cfg["backends"]:
            e = results.e2e[backend]
            lines.append(f"| {backend} | {e['samples']} | {e['p50_ms']} | {e['p99_ms']} | {e['mean_ms']} | "
                         f"{e['max_ms']} |")
    if results.reads:
        lines += [
            "",
            f"## Timeline read latency (child with {cfg['read_target_entries']:,} entries among "
            f"{cfg['read_children']:,} children; store seeded directly with SQL)",
            "",
            f"{cfg['read_requests']} sequential HTTP requests each (after 5 warm-up), including the access-log row "
            "and the TimelineViewed outbox row written before each response.",
            "",
            "| store | reader | entries shown | p50 ms | p99 ms | mean ms |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for backend in cfg["backends"]:
            reads = results.reads[backend]
            for label, key in (("parent, limit=1000", "parent_all_1000"),
                               ("SLT via consent, limit=100", "slt_consent_page_100")):
                x = reads[key]
                lines.append(f"| {backend} | {label} | {x['entries_shown']} | {x['p50_ms']} | {x['p99_ms']} | "
                             f"{x['mean_ms']} |")
    if results.notes:
        lines += ["", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"
