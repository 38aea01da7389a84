"""Timeline benchmarks on the real broker, with the real service process
(`python -m services.timeline`) on SQLite and on PostgreSQL:

1. Ingest throughput: N events already on a topic, consumed into the store by the service,
   side by side in the same run with a plain aiokafka `getmany` consume of the same events
   from the same broker (and `getmany` + contract validation, to show where the time goes).
   Steady-state rate = events after the first one seen / (time of the last - time of the
   first), the same definition for every consumer, so group joins and process start-up are
   left out of all of them alike.
2. End-to-end latency: events produced at a fixed rate, each for a new child; a watcher per
   event waits until the service's store holds the entry (a read-only SELECT every 10 ms,
   bench.common.until_stored), then asks the HTTP API until the entry is visible. Latency =
   visible - just before the send. Each API read is a real, recorded one (access log +
   TimelineViewed), as in production.
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
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url

from bench.chaos.checks import end_offsets
from bench.common import create_topics, delete_topics, free_port, next_poll_s, percentile, until_stored
from schemas.catalogue import make_envelope, parse_event
from schemas.envelope import Actor
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.common.db import make_engine, make_session_factory
from services.common.kafka_admin import wait_for_broker
from services.timeline.adapters import store as tables
from services.timeline.adapters.rows import entry_row
from services.timeline.adapters.store import TimelineStore
from services.timeline.domain.entries import NewEntry

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
    # Each checkout ingests the topic this many times, in turns with the other (each into an
    # empty store, by a new process); the median is reported. One ingest of 20,000 events is a
    # window of 2-5 s: two runs of one turn each on 2026-12-03 gave the same pair of checkouts
    # 0.83 and 1.68 of each other on SQLite.
    ingest_turns: int = 3
    ingest_children: int = 1_000
    e2e_rate_per_s: float = 20.0
    e2e_seconds: float = 30.0
    # How often a watcher asks the store whether the entry is there. Every sample waits, on
    # average, half of it on top of the service's own latency: at 10 ms, a run split into its
    # parts (sent -> stored_at -> found -> read) found 10.4 ms of a 22.4 ms p50 between the entry's
    # stored_at and the watcher finding it on PostgreSQL, 4.2 ms at 2 (2026-12-03). A SELECT every
    # 2 ms for the few milliseconds an entry takes costs the service nothing it would notice.
    e2e_poll_interval_s: float = 0.002
    # A watcher waits the longer of e2e_poll_interval_s and this share of its wait so far
    # (bench.common.next_poll_s): polling every 10 ms made 100 reads (writes) a second per event
    # still unseen, and runs at half the maximum rate collapsed to seconds (2026-12-03).
    e2e_poll_backoff: float = 0.1
    # At the set rate every event is watched, 600 samples: the p99 of 150 (5 a second) was the
    # second-worst sample.
    e2e_watched_per_s: float = 20.0
    # At half the maximum, 5 a second: each watched event is also a read through the API, and at
    # 20 a second those reads took enough of the machine's two cores, already busy with the
    # service, the broker and the producer, to double the p50 at 11,000 events/s on SQLite
    # (49.3 against 30.1 ms, 2026-12-03).
    e2e_half_max_watched_per_s: float = 5.0
    e2e_half_max_seconds: float = 30.0  # 150 samples
    read_children: int = 10_000
    read_entries_per_other_child: int = 10
    read_target_entries: int = 1_000
    read_requests: int = 200
    parts: tuple[str, ...] = ("ingest", "reads")  # "ingest" includes the end-to-end latency
    # Another checkout (say, main) whose timeline is measured beside this one in the same run:
    # its reads interleaved request by request with ours on the same store, its ingest of the
    # same topic right after ours. None: this checkout only.
    baseline_repo: str | None = None
    rebuild_events: int = 1_000_000


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
    rss_mb: dict[str, Any] = field(default_factory=dict)
    rebuild: dict[str, Any] = field(default_factory=dict)
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

    def __init__(self, bootstrap: str, database_url: str, topics: dict[str, str], workdir: Path, name: str,
                 repo: Path = REPO):
        self.repo = repo
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.database_url = database_url
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

    async def start(self, timeout_s: float = 300) -> None:  # a loaded machine starts slowly
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "services.timeline"], env=self.env, cwd=self.repo,
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
    """Stands in for the timeline's ingestor: counts, stores nothing. Its sink may hold (the
    consumers refuse, when built, a consumer of these topics whose sink cannot), and it has the
    partition lanes' way in (`ingest_holding`, `apply_held`)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        from services.common.pipeline import IngestStats

        self.seen = 0
        self.stats = IngestStats()
        self.sink = SimpleNamespace(hold=lambda holds: None)

    @property
    def applied(self) -> int:
        return self.stats.stored

    async def ingest(self, messages):
        return (await self.ingest_holding(messages)).stats

    async def ingest_holding(self, messages):
        from services.common.pipeline import IngestStats, Progress

        self.seen += len(messages)
        self.stats.stored += len(messages)
        return Progress(IngestStats(stored=len(messages)), {})

    async def apply_held(self, items):
        from services.common.pipeline import IngestStats

        return IngestStats()


# Faust settings tried against its defaults (issue 15): deeper stream buffers, larger polls.
FAUST_TUNED = {"stream_buffer_maxsize": 16_384, "broker_max_poll_records": 2_000}


def _nothing_settings(bootstrap: str, topics: dict[str, str], workdir: Path, name: str):
    from services.timeline.config import TimelineSettings

    return TimelineSettings(
        environment="test", kafka_bootstrap_servers=bootstrap, database_url="sqlite://",
        referrals_topic=topics["referrals"], consent_topic=topics["consent"], audit_topic=topics["audit"],
        deadletter_topic=topics["deadletter"], consumer_group=f"bench-{name}-{uuid.uuid4().hex[:8]}",
        datadir=workdir / name,
    )


async def _rate_of(counter: _CountingIngestor, expected: int) -> float:
    while not counter.seen:
        await asyncio.sleep(0.005)
    first_at, first = time.perf_counter(), counter.seen
    while counter.seen < expected:
        await asyncio.sleep(0.005)
    return (counter.seen - first) / (time.perf_counter() - first_at)


async def faust_only(bootstrap: str, topics: dict[str, str], expected: int, workdir: Path, **faust_options) -> float:
    """Steady-state events/s of a Faust agent as the timeline ran it until issue 15 (the
    project's batch agent, services.common.streams: same batching, acks after each batch)
    with an ingestor that stores nothing: the cost of Faust itself. `faust_options` are Faust
    settings to try (stream_buffer_maxsize, broker_max_poll_records, ...)."""
    from faust.contrib.asgi import faust_app_running

    from services.common.streams import add_batch_agent, make_faust_app
    from services.timeline.domain.entries import Source

    settings = _nothing_settings(bootstrap, topics, workdir, "faust")
    counter = _CountingIngestor()
    app = make_faust_app(settings)
    for name, value in faust_options.items():
        setattr(app.conf, name, value)
    add_batch_agent(app, name="bench-nothing", ingestor=counter, batch_max=settings.batch_max,  # type: ignore[arg-type]
                    within_s=settings.batch_within_s,
                    topics={settings.referrals_topic: Source.REFERRALS, settings.consent_topic: Source.CONSENT})
    async with faust_app_running(app):
        return await _rate_of(counter, expected)


async def batch_consumer_only(bootstrap: str, topics: dict[str, str], expected: int, workdir: Path) -> float:
    """Steady-state events/s of the timeline's own consumer (services.common.batch_consumer,
    built as the service builds it) with an ingestor that stores nothing."""
    from services.timeline.entrypoints.worker import build_consumer

    counter = _CountingIngestor()
    consumer = build_consumer(_nothing_settings(bootstrap, topics, workdir, "consumer"), counter)  # type: ignore[arg-type]
    await consumer.start()
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        return await _rate_of(counter, expected)
    finally:
        stop.set()
        await running
        await consumer.stop()


def _count_or_zero(store: TimelineStore) -> int:
    try:
        return store.count_processed()
    except Exception:  # noqa: BLE001 - before the service's migrations ran
        return 0


# -- 2. end to end ------------------------------------------------------------------------


async def e2e_latency(service: ServiceProcess, bootstrap: str, topic: str, config: BenchConfig, *,
                      rate_per_s: float | None = None, seconds: float | None = None,
                      watched_per_s: float | None = None) -> Latency:
    """Produce at `rate_per_s` (default: config.e2e_rate_per_s) for `seconds` (default:
    config.e2e_seconds), each event for a new child; watch at most `watched_per_s` (default:
    config.e2e_watched_per_s) of them a second through the API (at high rates watching every
    event would measure the poller, not the service).

    First one event is sent and watched untimed: the run's new producer fetches the topic's
    metadata on its first send, and the service's first read after ingesting opens what its
    reads keep open (a pool connection, the freshness client's first request). Timed, that
    first sample measured 61-160 ms on PostgreSQL where the rest had a p99 of 18.5
    (2026-12-03): the cost of starting, once, and with 150 samples it alone set the p99."""
    rate = rate_per_s or config.e2e_rate_per_s
    watch_every = max(1, round(rate / (watched_per_s or config.e2e_watched_per_s)))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=0)
    await producer.start()
    headers = {"Authorization": f"Bearer {token(SETTING)}"}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    store = create_engine(service.database_url)  # watched before reading through the API
    async with httpx.AsyncClient(base_url=service.url, headers=headers, limits=limits, timeout=30) as client:

        async def watch(child: uuid.UUID, sent_at: float, *, timed: bool = True) -> None:
            await until_stored(store, select(tables.entries.c.event_id).where(tables.entries.c.child_id == str(child)),
                               interval_s=config.e2e_poll_interval_s, deadline=time.monotonic() + 120,
                               what=f"the entry of child {child}")
            while True:
                try:
                    response = await client.get(f"/children/{child}/timeline")
                except httpx.TransportError:
                    # A kept-alive connection the server closed meanwhile: poll again, unless
                    # the service itself is gone.
                    if service.process is not None and service.process.poll() is not None:
                        raise RuntimeError(f"timeline exited; see {service.log_path}") from None
                    continue
                waited = time.perf_counter() - sent_at
                if response.status_code == 200 and response.json()["entries"]:
                    if timed:
                        latencies.append(waited)
                    return
                await asyncio.sleep(next_poll_s(waited, config.e2e_poll_interval_s, config.e2e_poll_backoff))

        warm_up = concern_event(uuid.uuid4())
        await producer.send_and_wait(topic, warm_up.to_json_bytes(), key=warm_up.key)
        await watch(warm_up.subject, time.perf_counter(), timed=False)
        count = int(rate * (seconds or config.e2e_seconds))
        # Made and serialised beforehand: at thousands a second, that would slow the producer down.
        events = [(event, event.to_json_bytes()) for event in (concern_event(uuid.uuid4()) for _ in range(count))]
        watchers = []
        # Sent in ticks of 10 ms (a few events each at high rates): asyncio cannot sleep 0.1 ms.
        tick = 0.01
        start = time.perf_counter()
        try:
            sent = 0
            while sent < count:
                due = min(count, int((time.perf_counter() - start) * rate) + 1)
                while sent < due:
                    event, value = events[sent]
                    sent_at = time.perf_counter()
                    await producer.send(topic, value, key=event.key)
                    if sent % watch_every == 0:
                        watchers.append(asyncio.create_task(watch(event.subject, sent_at)))
                    sent += 1
                # Until the next event is due, but never less than a tick: sleeping only until the
                # next one (0.24 ms at 4,200 a second) sent one event per turn of the loop, and the
                # producer and the broker then took 1.3 of the machine's 2 cores from the service
                # (0.36 in ticks; /proc/<pid>/stat, 2026-12-03).
                await asyncio.sleep(max(tick, start + sent / rate - time.perf_counter()))
            await asyncio.wait_for(asyncio.gather(*watchers), timeout=120)
        finally:
            await producer.stop()
            store.dispose()
    return Latency.of(latencies)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


# -- 3. reads -----------------------------------------------------------------------------

CATEGORY_TYPES = [
    (r.ConcernRaised.TYPE, "concern", SETTING), (r.ReferralMade.TYPE, "referral", SETTING),
    (r.SLTReportShared.TYPE, "slt", SLT), (r.EPAdviceShared.TYPE, "ep", EP),
    (r.IntegratedReviewScheduled.TYPE, "health", HV), (r.IntegratedReviewCompleted.TYPE, "progress", HV),
    (r.FamilySupportOffered.TYPE, "family_support", SETTING), (r.EHCAdviceSubmitted.TYPE, "ehc", EP),
]


def migrate(database_url: str, repo: Path) -> None:
    """The timeline's migrations as the checkout at `repo` has them (this one's or a baseline's)."""
    subprocess.run([sys.executable, "-c", "import sys; from services.common.db import run_migrations; "
                    "from services.timeline.bootstrap import MIGRATIONS; run_migrations(sys.argv[1], MIGRATIONS)",
                    database_url], cwd=repo, check=True)


def seed_reads(database_url: str, config: BenchConfig, target: uuid.UUID) -> int:
    """10,000 children (`target` with 1,000 entries, the rest with a few each), written straight
    into a store already migrated, as this checkout's ingest would store them but with only the
    columns the store has (a baseline's may have fewer). The consent the reads decide on
    arrives from the topic (reads_consent_events), as in service."""
    engine = make_engine(database_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns(tables.entries.name)}
        base = datetime(2025, 1, 1, tzinfo=timezone.utc)
        stored_at = datetime.now(timezone.utc)

        def rows_for(child: uuid.UUID, n: int):
            for i in range(n):
                event_type, category, actor = CATEGORY_TYPES[i % len(CATEGORY_TYPES)]
                entry = NewEntry(
                    event_id=uuid.uuid4(), child_id=child, event_type=event_type, category=category,
                    occurred_at=base + timedelta(minutes=i), author_practitioner_id=actor.practitioner_id,
                    author_organisation_id=actor.organisation_id, author_agency=str(actor.agency),
                    author_role=actor.role, summary=f"{category} entry {i} with a line of words",
                    payload={"summary": f"entry {i}", "n": i})
                yield {name: value for name, value in entry_row(entry, stored_at=stored_at).items() if name in columns}

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
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        return total
    finally:
        engine.dispose()


def reads_consent_events(target: uuid.UUID) -> dict[str, list]:
    """A consent for the SLT service covering two of the target child's categories, and the SLT
    service on the child's team: consent reaches only the team (DESIGN §3 rule 5), so the
    consent-based read measures what it should. By input topic."""
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
    joined = make_envelope(
        r.TeamMemberJoined(organisation_id=SLT.organisation_id, agency=Agency.SLT_SERVICE, role="slt",
                           joined_through=TeamJoinRoute.REFERRAL_ACCEPTED),
        subject=target, actor=SLT, source="/tac/referrals",
    )
    return {"consent": [grant], "referrals": [joined]}


async def until_shown(service: ServiceProcess, child: uuid.UUID, actor: Actor, timeout_s: float = 60) -> None:
    """Until `actor` sees some of the child's entries through `service`."""
    headers = {"Authorization": f"Bearer {token(actor)}"}
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
        while True:
            response = await client.get(f"/children/{child}/timeline", params={"limit": 1}, headers=headers)
            if response.status_code == 200 and response.json()["entries"]:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{actor.practitioner_id} sees nothing of {child} after {timeout_s}s "
                                   f"({response.status_code}); see {service.log_path}")
            await asyncio.sleep(0.2)


async def read_latency(services: list[ServiceProcess], child: uuid.UUID, actor: Actor, *, children=(), limit: int,
                       requests: int) -> list[tuple[Latency, int]]:
    """Each service's read latency, the services asked in turn request by request (so other
    load on the machine falls on each alike); per service, its latency and entries shown."""
    headers = {"Authorization": f"Bearer {token(actor, children)}"}
    timings: list[list[float]] = [[] for _ in services]
    shown = [0 for _ in services]
    clients = [httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30) for service in services]
    try:
        for i in range(requests + 5):
            for n, client in enumerate(clients):
                started = time.perf_counter()
                response = await client.get(f"/children/{child}/timeline", params={"limit": limit})
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                shown[n] = len(response.json()["entries"])
                if i >= 5:  # the first few warm caches and connections
                    timings[n].append(elapsed)
    finally:
        for client in clients:
            await client.aclose()
    return [(Latency.of(t), s) for t, s in zip(timings, shown)]


# -- the run ------------------------------------------------------------------------------


async def run(config: BenchConfig, workdir: Path) -> Results:
    await wait_for_broker(config.bootstrap, timeout_s=60)
    results = Results(
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                 "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        config=asdict(config),
    )
    say = lambda text: print(f"bench [load {os.getloadavg()[0]:.1f}]: {text}", flush=True)  # noqa: E731

    if "ingest" in config.parts:
        await _ingest_and_e2e(config, workdir, results, say)
    if "reads" in config.parts:
        await _reads(config, workdir, results, say)
    if "rebuild" in config.parts:
        await _rebuild(config, workdir, results, say)
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
    faust_tuned = await faust_only(config.bootstrap, topics, len(events), workdir, **FAUST_TUNED)
    consumer_rate = await batch_consumer_only(config.bootstrap, topics, len(events), workdir)
    say(f"raw getmany {raw:,.0f} ev/s; getmany + parse_event {raw_parsed:,.0f} ev/s; "
        f"Faust agent storing nothing {faust_rate:,.0f} ev/s (tuned {faust_tuned:,.0f}); "
        f"timeline's batch consumer storing nothing {consumer_rate:,.0f} ev/s")
    results.ingest["raw_getmany_events_per_s"] = round(raw)
    results.ingest["raw_getmany_and_validate_events_per_s"] = round(raw_parsed)
    results.ingest["faust_agent_storing_nothing_events_per_s"] = round(faust_rate)
    results.ingest["faust_agent_tuned_storing_nothing_events_per_s"] = round(faust_tuned)
    results.ingest["batch_consumer_storing_nothing_events_per_s"] = round(consumer_rate)

    variants = [("baseline", Path(config.baseline_repo))] if config.baseline_repo else []
    variants.append(("", REPO))  # the baseline first: ours then ingests the baseline's e2e events too
    try:
        for backend in config.backends:
            for turn in range(1, config.ingest_turns + 1):
                for label, repo in variants:
                    # Everything on the topic, the earlier runs' end-to-end events too: the latency
                    # runs must start on a service that has caught up, or they measure its backlog
                    # (a run after another's 60,000 half-rate events measured 26 s at 20 events/s).
                    on_topic = sum((await end_offsets(config.bootstrap, [topics["referrals"]])).values())
                    await _ingest_one(config, workdir, results, say, topics, on_topic, raw, raw_parsed, backend,
                                      label, repo, measure_latency=turn == config.ingest_turns)
    finally:
        await delete_topics(config.bootstrap, topics.values())


async def _ingest_one(config: BenchConfig, workdir: Path, results: Results, say, topics: dict[str, str], expected: int,
                      raw: float, raw_parsed: float, backend: str, label: str, repo: Path, *,
                      measure_latency: bool) -> None:
    """One checkout's timeline service: ingest of the topic into an empty store (a turn, added to
    the checkout's turns); then, if `measure_latency`, on the same running service, end-to-end latency at
    the set rate and, for this checkout, at half the median rate of its turns."""
    name = f"{backend}-{label}" if label else backend
    db = Database(backend, workdir)
    service = ServiceProcess(config.bootstrap, db.url, topics, workdir, f"ingest-{name}", repo=repo)
    engine = make_engine(db.url)
    try:
        ingest_task = asyncio.create_task(service_ingest(TimelineStore(make_session_factory(engine)), expected))
        await service.start()
        rate = await ingest_task
        rss_after = rss_mb(service.process.pid)  # type: ignore[union-attr]
        say(f"{name}: timeline ingest {rate:,.0f} ev/s ({rate / raw:.3f} of raw getmany); RSS after ingest {rss_after} MB")
        owner = results.ingest.setdefault("baseline", {"repo": str(repo)}) if label else results.ingest
        ingest = owner.setdefault(backend, {"turns_events_per_s": []})
        ingest["turns_events_per_s"].append(round(rate))
        median = statistics.median(ingest["turns_events_per_s"])
        ingest.update(timeline_events_per_s=round(median), ratio_to_raw_getmany=round(median / raw, 4),
                      ratio_to_getmany_and_validate=round(median / raw_parsed, 4))
        results.rss_mb.setdefault(f"timeline-{name}", {})["after_ingest"] = rss_after
        if not measure_latency:
            return
        rates = [("set_rate", config.e2e_rate_per_s, config.e2e_seconds, config.e2e_watched_per_s)]
        if not label:
            rates.append(("half_max", median / 2, config.e2e_half_max_seconds, config.e2e_half_max_watched_per_s))
        e2e = {}
        for what, at, seconds, watched in rates:
            latency = await e2e_latency(service, config.bootstrap, topics["referrals"], config, rate_per_s=at,
                                        seconds=seconds, watched_per_s=watched)
            say(f"{name}: end-to-end at {at:,.0f} ev/s: p50 {latency.p50_ms} ms, p99 {latency.p99_ms} ms")
            e2e[what] = {"rate_per_s": round(at), **asdict(latency)}
        if label:
            results.e2e.setdefault("baseline", {"repo": str(repo)})[backend] = e2e
        else:
            results.e2e[backend] = e2e
    finally:
        service.stop()
        engine.dispose()
        db.drop()


async def _reads(config: BenchConfig, workdir: Path, results: Results, say) -> None:
    # 3. read latency on a seeded store.
    topics = await create_bench_topics(config.bootstrap, "reads")
    target = uuid.uuid4()
    try:
        for topic, events in reads_consent_events(target).items():
            await produce(config.bootstrap, topics[topic], events)
        for backend in config.backends:
            # One store per checkout, each migrated by that checkout and seeded alike (a
            # baseline's migrations may not know this checkout's revisions).
            repos = [REPO] + ([Path(config.baseline_repo)] if config.baseline_repo else [])
            dbs = [Database(backend, workdir) for _ in repos]
            try:
                started, rows = time.perf_counter(), 0
                for db, repo in zip(dbs, repos):
                    await asyncio.to_thread(migrate, db.url, repo)
                    rows = await asyncio.to_thread(seed_reads, db.url, config, target)
                say(f"{backend}: seeded {rows:,} entries in each of {len(dbs)} stores in "
                    f"{time.perf_counter() - started:.1f}s")
                services = [ServiceProcess(config.bootstrap, db.url, topics, workdir, f"reads-{backend}{label}", repo=repo)
                            for db, repo, label in zip(dbs, repos, ("", "-baseline"))]
                try:
                    for service in services:
                        await service.start()
                    for service in services:  # the consent and the join consumed: the SLT page is not empty
                        await until_shown(service, target, SLT)
                    await asyncio.sleep(2)  # at rest: started, nothing to consume, nobody reading
                    for service, label in zip(services, ("", "-baseline")):
                        results.rss_mb.setdefault(f"timeline-{backend}{label}", {})["at_rest"] = rss_mb(
                            service.process.pid)  # type: ignore[union-attr]
                    parent = await read_latency(
                        services, target, Actor(practitioner_id="mum-1", agency=Agency.PARENT, role="parent"),
                        children=[target], limit=1000, requests=config.read_requests)
                    slt = await read_latency(services, target, SLT, limit=100, requests=config.read_requests)
                    # What the web interface asks for (services.web.views.children.TIMELINE_LIMIT).
                    slt_web = await read_latency(services, target, SLT, limit=1000, requests=config.read_requests)
                finally:
                    for service in services:
                        service.stop()
                rows += 2  # and the consent and the join, both entries
                for n, label in enumerate(("this checkout", "baseline")[:len(services)]):
                    (p, p_shown), (sl, sl_shown), (sw, sw_shown) = parent[n], slt[n], slt_web[n]
                    say(f"{backend} ({label}): parent read of {p_shown} entries p50 {p.p50_ms} ms p99 {p.p99_ms} ms; "
                        f"SLT page of {sl_shown} p50 {sl.p50_ms} ms p99 {sl.p99_ms} ms; "
                        f"SLT limit=1000 ({sw_shown} shown) p50 {sw.p50_ms} ms p99 {sw.p99_ms} ms")
                    reads = {"seeded_entries": rows,
                             "parent_all_1000": {"entries_shown": p_shown, **asdict(p)},
                             "slt_consent_page_100": {"entries_shown": sl_shown, **asdict(sl)},
                             "slt_consent_limit_1000": {"entries_shown": sw_shown, **asdict(sw)}}
                    if n == 0:
                        results.reads[backend] = reads
                    else:
                        results.reads[backend]["baseline"] = {"repo": config.baseline_repo, **reads}
            finally:
                for db in dbs:
                    db.drop()
    finally:
        await delete_topics(config.bootstrap, topics.values())


async def _rebuild(config: BenchConfig, workdir: Path, results: Results, say) -> None:
    """4. Rebuild: the service started on an empty SQLite store with `rebuild_events` events
    already on its topic, timed from the process start to the last event stored (start-up and
    group join included: a rebuild pays them too)."""
    topics = await create_bench_topics(config.bootstrap, "rebuild")
    try:
        children = [uuid.uuid4() for _ in range(max(1, config.rebuild_events // 100))]
        chunk = 10_000  # made and sent a chunk at a time: a million envelopes do not fit in memory
        for start in range(0, config.rebuild_events, chunk):
            events = [concern_event(children[i % len(children)])
                      for i in range(start, min(start + chunk, config.rebuild_events))]
            await produce(config.bootstrap, topics["referrals"], events)
        say(f"rebuild: {config.rebuild_events:,} events on {topics['referrals']}")
        db = Database("sqlite", workdir)
        service = ServiceProcess(config.bootstrap, db.url, topics, workdir, "rebuild-sqlite")
        engine = make_engine(db.url)
        try:
            store = TimelineStore(make_session_factory(engine))
            started = time.perf_counter()
            await service.start(timeout_s=300)
            while await asyncio.to_thread(_count_or_zero, store) < config.rebuild_events:
                await asyncio.sleep(1)
            seconds = time.perf_counter() - started
            rss = rss_mb(service.process.pid)  # type: ignore[union-attr]
        finally:
            service.stop()
            engine.dispose()
            db.drop()
        say(f"rebuild: {config.rebuild_events:,} events into an empty SQLite store in {seconds:,.1f} s "
            f"({config.rebuild_events / seconds:,.0f} events/s); RSS at the end {rss} MB")
        results.rebuild = {"events": config.rebuild_events, "seconds": round(seconds, 1),
                           "events_per_s": round(config.rebuild_events / seconds), "rss_mb_at_end": rss}
        results.rss_mb.setdefault("timeline-sqlite-rebuild", {})["after_ingest"] = rss
    finally:
        await delete_topics(config.bootstrap, topics.values())


def _turns(ingest: dict[str, Any]) -> str:
    turns = ingest.get("turns_events_per_s", [ingest["timeline_events_per_s"]])
    return f"{len(turns)} turn{'s' if len(turns) > 1 else ''} ({', '.join(f'{t:,}' for t in turns)})"


def render_markdown(results: Results) -> str:
    cfg = results.config
    lines = [
        f"# Timeline benchmarks — {results.started_at}",
        "",
        f"Machine: {results.machine['cpus']} CPUs, Python {results.machine['python']}, {results.machine['platform']}. "
        "Kafka 3.9 single node on the same machine; the service runs as a real process "
        "(`python -m services.timeline`, default settings: a batch is one `getmany` fetch of up to 500 events, one "
        "transaction per batch, offsets committed after each batch). Benchmark client, broker and service share the CPUs "
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
            f"| a Faust batch agent (the timeline's consumer until issue 15), storing nothing | "
            f"{results.ingest['faust_agent_storing_nothing_events_per_s']:,} "
            f"| {results.ingest['faust_agent_storing_nothing_events_per_s'] / raw:.3f} |",
            f"| the same Faust agent with {', '.join(f'{k}={v:,}' for k, v in FAUST_TUNED.items())}, storing nothing | "
            f"{results.ingest['faust_agent_tuned_storing_nothing_events_per_s']:,} "
            f"| {results.ingest['faust_agent_tuned_storing_nothing_events_per_s'] / raw:.3f} |",
            f"| the timeline's batch consumer (getmany → pipeline), storing nothing | "
            f"{results.ingest['batch_consumer_storing_nothing_events_per_s']:,} "
            f"| {results.ingest['batch_consumer_storing_nothing_events_per_s'] / raw:.3f} |",
        ]
        for backend in cfg["backends"]:
            ingest = results.ingest[backend]
            target = {"sqlite": 0.15, "postgresql": 0.10}[backend]
            lines.append(f"| timeline service → {backend} (target ≥ {target}), median of {_turns(ingest)} | "
                         f"{ingest['timeline_events_per_s']:,} | {ingest['ratio_to_raw_getmany']:.3f} |")
            base = results.ingest.get("baseline", {}).get(backend)
            if base:
                lines.append(f"| baseline ({results.ingest['baseline']['repo']}) timeline service → {backend}, "
                             f"median of {_turns(base)} | {base['timeline_events_per_s']:,} | "
                             f"{base['ratio_to_raw_getmany']:.3f} |")
        lines += [
            "",
            "Steady-state rate for each: events after the first seen / (time of last - time of first); the service "
            "is watched from outside by counting processed events every 50 ms. Each checkout's service ingests the "
            "topic into an empty store once per turn, the two checkouts in turns (the baseline first); the median "
            "is reported, every turn in brackets. The rows storing nothing run in the "
            "benchmark process with a stand-in ingestor: the Faust agent as the timeline ran it before issue 15 "
            "(services.common.streams, same batching, acks after each batch) and the batch consumer the service runs "
            "now. The gap between the Faust rows and the batch consumer's is Faust's per-message "
            "machinery, not the store.",
            "",
            f"## End-to-end latency, produce → visible through the API ({cfg['e2e_seconds']:g} s at the set rate, "
            f"{cfg['e2e_half_max_seconds']:g} s at half the ingest rate just measured; each "
            f"event a new child; up to {cfg['e2e_watched_per_s']:g} events a second watched at the set rate and "
            f"{cfg.get('e2e_half_max_watched_per_s', cfg['e2e_watched_per_s']):g} at half the maximum, each read through the API "
            f"once the service's store holds it (a read-only SELECT every {cfg['e2e_poll_interval_s'] * 1000:g} ms), "
            f"then again after the longer of {cfg['e2e_poll_interval_s'] * 1000:g} ms and "
            f"{cfg.get('e2e_poll_backoff', 0) * 100:g}% of its wait so far; one event sent and watched untimed "
            "first, to start the run's producer and the service's read path; target p99 ≤ 50 ms at both rates)",
            "",
            "| store | rate events/s | samples | p50 ms | p99 ms | mean ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for backend in cfg["backends"]:
            runs = [(backend, results.e2e[backend])]
            if backend in results.e2e.get("baseline", {}):
                runs.append((f"{backend} — baseline", results.e2e["baseline"][backend]))
            for who, measured in runs:
                for label, e in measured.items():
                    lines.append(f"| {who} | {e['rate_per_s']:,} ({label.replace('_', ' ')}) | {e['samples']} | "
                                 f"{e['p50_ms']} | {e['p99_ms']} | {e['mean_ms']} | {e['max_ms']} |")
    if results.reads:
        lines += [
            "",
            f"## Timeline read latency (child with {cfg['read_target_entries']:,} entries among "
            f"{cfg['read_children']:,} children; store seeded directly with SQL)",
            "",
            f"{cfg['read_requests']} sequential HTTP requests each (after 5 warm-up), including the access-log row "
            "and the TimelineViewed outbox row written before each response.",
            "",
            "Targets: page of 100 p99 ≤ 30 ms, all 1,000 p99 ≤ 80 ms. The SLT's limit=1000 is what the web "
            "interface asks for (no target of its own).",
            "",
            "| store | reader | entries shown | p50 ms | p99 ms | mean ms |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for backend in cfg["backends"]:
            reads = results.reads[backend]
            for label, key in (("parent, limit=1000", "parent_all_1000"),
                               ("SLT via consent, limit=100", "slt_consent_page_100"),
                               ("SLT via consent, limit=1000", "slt_consent_limit_1000")):
                for who, source in (("", reads), (" — baseline", reads.get("baseline"))):
                    if source is None:
                        continue
                    x = source[key]
                    lines.append(f"| {backend} | {label}{who} | {x['entries_shown']} | {x['p50_ms']} | {x['p99_ms']} | "
                                 f"{x['mean_ms']} |")
    if results.rebuild:
        rb = results.rebuild
        lines += ["", f"## Rebuild: {rb['events']:,} events from offset 0 into an empty SQLite store (target ≤ 120 s "
                      "for 1,000,000)", "",
                  f"{rb['seconds']:,} s ({rb['events_per_s']:,} events/s), from the process start to the last event "
                  f"stored; RSS at the end {rb['rss_mb_at_end']} MB."]
    if results.rss_mb:
        lines += ["", "## Memory (RSS of the timeline process; aim ≤ 150 MB at rest, ≤ 300 MB under load)", "",
                  "| process | at rest MB | after ingest MB |", "|---|---:|---:|"]
        for name, rss in results.rss_mb.items():
            lines.append(f"| {name} | {rss.get('at_rest', '–')} | {rss.get('after_ingest', '–')} |")
    if results.notes:
        lines += ["", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"
