"""Notifications ingest on the real broker, with the real service process
(`python -m services.notifications`, its own consumer as bootstrap.py composes it) on SQLite
and on PostgreSQL, beside a plain aiokafka `getmany` of the same two topics in the same run.

The stream: `events` events over `children` children on tac.referrals.v1 and tac.consent.v1
(each child registered at a setting, an SLT service joining its team, a consent for that
service, then case facts authored by the setting or the SLT service). A few children
(`subscribed_children`) have subscribers: their setting's SENCO (inbox only) and DSL (e-mail),
their SLT service's therapist (webhook) and their parent (e-mail); every other child's
organisations have no subscriber at all, as in the soak.

The store is migrated and the subscriptions written before the service starts; e-mails and
webhooks wait `external_hold_s` (an hour here) before their first attempt, so the delivery
worker sends nothing during the run and the figure is the ingest's alone (the jobs are still
made, in the same transactions as today).

Steady-state rate = events after the first one seen / (time of the last - time of the first),
watched from outside by counting processed events every 50 ms: the timeline bench's definition
(bench/timeline_bench.py), so group joins and process start-up are left out alike.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from bench.common import create_topics, delete_topics, free_port
from bench.timeline_bench import Database, _rate_of
from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.pipeline import IngestStats, Progress
from services.notifications.adapters import jobs, store
from services.notifications.bootstrap import MIGRATIONS
from services.notifications.domain.recipients import Subscriber

REPO = Path(__file__).resolve().parents[1]
NOW = datetime.now(timezone.utc)


@dataclass
class NotificationsBenchConfig:
    bootstrap: str = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    events: int = 20_000
    children: int = 1_000
    subscribed_children: int = 20  # 2% of the children; the rest have no subscriber at all
    raw_runs: int = 3
    timeout_s: float = 900.0
    extra_env: dict[str, str] = field(default_factory=dict)


# -- the stream ---------------------------------------------------------------------------------


def _setting(child_no: int, subscribed: bool) -> Actor:
    org = "bench-setting-subscribed" if subscribed else f"bench-setting-{child_no % 50}"
    return Actor(practitioner_id=f"senco-{org}", organisation_id=org, agency=Agency.SETTING, role="senco")


def _slt(child_no: int, subscribed: bool) -> Actor:
    org = "bench-slt-subscribed" if subscribed else f"bench-slt-{child_no % 20}"
    return Actor(practitioner_id=f"slt-{org}", organisation_id=org, agency=Agency.SLT_SERVICE, role="slt")


def _case_fact(n: int, child: uuid.UUID, setting: Actor, slt: Actor, at: datetime) -> EnvelopeBase:
    kind = n % 4
    if kind == 0:
        data: Any = r.ConcernRaised(concern_id=uuid.uuid4(), areas_of_need=["communication_and_interaction"],
                                    summary="Uses few words; key person noticed at 26 months")
        by = setting
    elif kind == 1:
        data = r.FamilySupportOffered(offer_id=uuid.uuid4(), summary="Stay and play sessions at the family hub")
        by = setting
    elif kind == 2:
        data = r.SLTReportShared(report_id=uuid.uuid4(), assessment_summary="Expressive language below age expectations",
                                 programme="Small-group language sessions twice a week")
        by = slt
    else:
        data = r.KeyPersonNamed(key_person_id="key-person-1")
        by = setting
    return make_envelope(data, subject=child, actor=by, source="/tac/referrals", time=at)


def stream(config: NotificationsBenchConfig) -> tuple[list[EnvelopeBase], list[EnvelopeBase], list[uuid.UUID]]:
    """(referrals events, consent events, the subscribed children), each child's in time order."""
    children = [uuid.uuid4() for _ in range(config.children)]
    subscribed = set(range(config.subscribed_children))
    per_child = max(4, config.events // config.children)
    referrals: list[EnvelopeBase] = []
    consent: list[EnvelopeBase] = []
    start = NOW - timedelta(days=60)
    for n, child in enumerate(children):
        setting, slt = _setting(n, n in subscribed), _slt(n, n in subscribed)
        at = start + timedelta(seconds=n)
        referrals.append(make_envelope(r.ChildRegistered(setting_organisation_id=setting.organisation_id),
                                       subject=child, actor=setting, source="/tac/referrals", time=at))
        referrals.append(make_envelope(
            r.TeamMemberJoined(organisation_id=slt.organisation_id, agency=Agency.SLT_SERVICE, role="slt",
                               joined_through=TeamJoinRoute.REFERRAL_ACCEPTED),
            subject=child, actor=slt, source="/tac/referrals", time=at + timedelta(minutes=1)))
        consent.append(make_envelope(c.ConsentGranted(
            consent_id=uuid.uuid4(),
            given_by=c.ConsentGiver(person_id=f"parent-{n}", relationship="mother", has_parental_responsibility=True),
            recorded_on_behalf=True, recipients=c.Recipients(agencies=(Agency.SLT_SERVICE,)),
            categories=(Category.CONCERN, Category.SLT, Category.FAMILY_SUPPORT), purposes=(Purpose.COORDINATION,),
            valid_from=NOW - timedelta(days=50), expires_at=NOW + timedelta(days=300)),
            subject=child, actor=setting, source="/tac/consent", time=at + timedelta(minutes=2)))
        for i in range(per_child - 3):
            referrals.append(_case_fact(i, child, setting, slt, at + timedelta(hours=1 + i)))
    # Interleaved across children as a live stream would be (each child's own order kept).
    referrals.sort(key=lambda e: (e.time, str(e.id)))
    return referrals, consent, [children[n] for n in sorted(subscribed)]


def subscribers(subscribed: list[uuid.UUID]) -> list[Subscriber]:
    setting, slt = _setting(0, True), _slt(0, True)
    far = NOW + timedelta(days=3650)
    people = [
        Subscriber(setting.practitioner_id, setting.organisation_id, Agency.SETTING, "senco"),  # inbox only
        Subscriber("dsl-bench", setting.organisation_id, Agency.SETTING, "designated_safeguarding_lead",
                   email="dsl@setting.example"),
        Subscriber(slt.practitioner_id, slt.organisation_id, Agency.SLT_SERVICE, "slt",
                   webhook_url="https://hooks.slt.example/tac"),
    ]
    people += [Subscriber(f"parent-of-{child}", None, Agency.PARENT, "parent", frozenset({child}),
                          email=f"parent{n}@family.example", children_valid_until=far)
               for n, child in enumerate(subscribed)]
    return people


def seed(database_url: str, people: list[Subscriber]) -> None:
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            for person in people:
                store.put_subscription(session, person, "bench-secret" if person.webhook_url else None, NOW)
    finally:
        engine.dispose()


# -- the consumers --------------------------------------------------------------------------------


async def produce(bootstrap: str, topic: str, events: list[EnvelopeBase]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=10,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        for start in range(0, len(events), 1000):
            futures = [await producer.send(topic, e.to_json_bytes(), key=e.key) for e in events[start:start + 1000]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_getmany(bootstrap: str, topics: list[str], expected: int) -> float:
    """Steady-state events/s of a plain aiokafka consumer (fresh group) reading both topics."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=500)
    await consumer.start()
    seen, first_at, last_at, first_batch = 0, 0.0, 0.0, 0
    try:
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            n = sum(len(records) for records in batches.values())
            if n:
                now = time.perf_counter()
                if not seen:
                    first_at, first_batch = now, n
                seen += n
                last_at = now
    finally:
        await consumer.stop()
    return (seen - first_batch) / (last_at - first_at)


class _Counting:
    """Stands in for the service's ingestor: counts what the consumer hands it, stores nothing
    (with a sink that may hold, as the consumers require of a consumer of these topics)."""

    def __init__(self) -> None:
        self.seen = 0
        self.stats = IngestStats()
        self.sink = SimpleNamespace(hold=lambda holds: None)

    @property
    def applied(self) -> int:
        return self.stats.stored

    async def ingest_holding(self, messages) -> Progress:
        self.seen += len(messages)
        self.stats.stored += len(messages)
        return Progress(IngestStats(stored=len(messages)), {})

    async def ingest(self, messages) -> IngestStats:
        return (await self.ingest_holding(messages)).stats

    async def apply_held(self, items) -> IngestStats:
        return IngestStats()


def _nothing_settings(config: NotificationsBenchConfig, topics: dict[str, str], workdir: Path, name: str):
    from services.notifications.config import NotificationsSettings

    return NotificationsSettings(
        environment="test", kafka_bootstrap_servers=config.bootstrap, database_url="sqlite://",
        referrals_topic=topics["referrals"], consent_topic=topics["consent"],
        notifications_topic=topics["notifications"], deadletter_topic=topics["deadletter"],
        consumer_group=f"bench-{name}-{uuid.uuid4().hex[:8]}", datadir=workdir / name)


async def faust_storing_nothing(config: NotificationsBenchConfig, topics: dict[str, str], expected: int,
                                workdir: Path) -> float:
    """A Faust batch agent as the service ran it until now (services.common.streams, the
    service's batch settings), storing nothing."""
    from faust.contrib.asgi import faust_app_running

    from schemas import topics as contracts
    from services.common.streams import add_batch_agent, make_faust_app

    settings = _nothing_settings(config, topics, workdir, "faust")
    counter = _Counting()
    app = make_faust_app(settings)
    add_batch_agent(app, name="bench-nothing", ingestor=counter, batch_max=settings.batch_max,  # type: ignore[arg-type]
                    within_s=settings.batch_within_s,
                    topics={settings.referrals_topic: contracts.REFERRALS, settings.consent_topic: contracts.CONSENT})
    async with faust_app_running(app):
        return await _rate_of(counter, expected)  # type: ignore[arg-type]


async def consumer_storing_nothing(config: NotificationsBenchConfig, topics: dict[str, str], expected: int,
                                   workdir: Path) -> float:
    """The service's own consumer (entrypoints.worker.build_consumer), storing nothing."""
    from services.notifications.entrypoints.worker import build_consumer

    counter = _Counting()
    consumer = build_consumer(_nothing_settings(config, topics, workdir, "consumer"), counter)  # type: ignore[arg-type]
    await consumer.start()
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        return await _rate_of(counter, expected)  # type: ignore[arg-type]
    finally:
        stop.set()
        await running
        await consumer.stop()


class NotificationsProcess:
    """`python -m services.notifications` with its own topics, group, database and port."""

    def __init__(self, config: NotificationsBenchConfig, database_url: str, topics: dict[str, str], workdir: Path,
                 name: str) -> None:
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TAC_NOTIFICATIONS_")}
        self.env.update(
            TAC_ENVIRONMENT="test",
            KAFKA_BOOTSTRAP_SERVERS=config.bootstrap,
            TAC_NOTIFICATIONS_DATABASE_URL=database_url,
            TAC_NOTIFICATIONS_PORT=str(self.port),
            TAC_NOTIFICATIONS_REFERRALS_TOPIC=topics["referrals"],
            TAC_NOTIFICATIONS_CONSENT_TOPIC=topics["consent"],
            TAC_NOTIFICATIONS_NOTIFICATIONS_TOPIC=topics["notifications"],
            TAC_NOTIFICATIONS_DEADLETTER_TOPIC=topics["deadletter"],
            TAC_NOTIFICATIONS_CONSUMER_GROUP=f"bench-{name}-{uuid.uuid4().hex[:8]}",
            TAC_NOTIFICATIONS_DATADIR=str(workdir / f"{name}-faust"),
            # E-mail on (jobs are made) but never attempted during the run: see the module docstring.
            TAC_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
            TAC_NOTIFICATIONS_EXTERNAL_HOLD_S="3600",
            TAC_LOG_LEVEL="WARNING",
            **config.extra_env,
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "services.notifications"], env=self.env, cwd=REPO,
                                        stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _counts(engine) -> tuple[int, int, int]:
    """(events processed, inbox items, delivery jobs); zeros before the tables exist."""
    try:
        with engine.connect() as conn:
            return (conn.execute(select(func.count()).select_from(store.processed_events)).scalar_one(),
                    conn.execute(select(func.count()).select_from(jobs.inbox)).scalar_one(),
                    conn.execute(select(func.count()).select_from(jobs.delivery_jobs)).scalar_one())
    except Exception:  # noqa: BLE001
        return 0, 0, 0


async def service_ingest(engine, service: NotificationsProcess, expected: int, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    first_at, first_count = 0.0, 0
    loads = []
    while True:
        count = (await asyncio.to_thread(_counts, engine))[0]
        now = time.perf_counter()
        if count and not first_at:
            first_at, first_count = now, count
        if count and len(loads) < 10_000:
            loads.append(os.getloadavg()[0])
        if count >= expected:
            processed, inbox, delivery = await asyncio.to_thread(_counts, engine)
            return {"events_per_s": round((count - first_count) / (now - first_at), 1),
                    "seconds": round(now - first_at, 1), "processed": processed, "inbox_items": inbox,
                    "delivery_jobs": delivery,
                    "load_average_1min_during": [round(min(loads), 2), round(max(loads), 2)] if loads else None}
        if service.process is not None and service.process.poll() is not None:
            raise RuntimeError(f"notifications exited ({service.process.returncode}); see {service.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count} of {expected} events ingested after {timeout_s}s; see {service.log_path}")
        await asyncio.sleep(0.05)


# -- the run --------------------------------------------------------------------------------------


async def run(config: NotificationsBenchConfig, workdir: Path, say) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:10]
    topics = {kind: f"bench.notif.{kind}.{suffix}" for kind in ("referrals", "consent", "notifications", "deadletter")}
    await create_topics(config.bootstrap, list(topics.values()))
    results: dict[str, Any] = {"config": {k: v for k, v in vars(config).items() if k != "extra_env"}}
    try:
        referrals, consent, subscribed = stream(config)
        expected = len(referrals) + len(consent)
        say(f"notifications: producing {len(referrals):,} + {len(consent):,} events "
            f"({config.subscribed_children} of {config.children:,} children with subscribers)")
        await produce(config.bootstrap, topics["referrals"], referrals)
        await produce(config.bootstrap, topics["consent"], consent)
        results["events"] = expected
        raw = statistics.median([await raw_getmany(config.bootstrap, [topics["referrals"], topics["consent"]],
                                                   expected) for _ in range(config.raw_runs)])
        results["raw_getmany_events_per_s"] = round(raw)
        say(f"notifications: raw getmany of both topics {raw:,.0f} ev/s (median of {config.raw_runs})")
        # The two ways of consuming the project has, storing nothing (bench/timeline_bench.py's
        # rows, on this stream): what the consumer itself costs, before any handler runs.
        results["faust_agent_storing_nothing_events_per_s"] = round(
            await faust_storing_nothing(config, topics, expected, workdir))
        results["batch_consumer_storing_nothing_events_per_s"] = round(
            await consumer_storing_nothing(config, topics, expected, workdir))
        say(f"notifications: storing nothing, a Faust batch agent {results['faust_agent_storing_nothing_events_per_s']:,} "
            f"ev/s, the batch consumer {results['batch_consumer_storing_nothing_events_per_s']:,} ev/s")
        people = subscribers(subscribed)
        for backend in config.backends:
            db = Database(backend, workdir)
            engine = make_engine(db.url)
            service = NotificationsProcess(config, db.url, topics, workdir, f"notifications-{backend}")
            try:
                await asyncio.to_thread(seed, db.url, people)
                load_at_start = round(os.getloadavg()[0], 2)
                service.start()
                measured = await service_ingest(engine, service, expected, config.timeout_s)
                measured["ratio_to_raw_getmany"] = round(measured["events_per_s"] / raw, 4)
                measured["load_average_1min_at_start"] = load_at_start
                results[backend] = measured
                say(f"notifications → {backend}: {measured['events_per_s']:,.0f} ev/s "
                    f"({measured['ratio_to_raw_getmany']:.4f} of raw getmany); {measured['inbox_items']:,} inbox items, "
                    f"{measured['delivery_jobs']:,} delivery jobs")
            finally:
                service.stop()
                engine.dispose()
                db.drop()
    finally:
        await delete_topics(config.bootstrap, list(topics.values()))
    return results


def render_markdown(results: dict[str, Any], machine: dict[str, Any]) -> str:
    cfg = results["config"]
    raw = results["raw_getmany_events_per_s"]
    lines = [
        f"# Notifications ingest — {machine['started_at']}",
        "",
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}; Kafka single node, PostgreSQL and the service "
        f"on the same machine (load average 1/5/15 min at start {machine['load_average_at_start']}, at end "
        f"{machine.get('load_average_at_end')}: other work on the machine shows up in these figures).",
        "Produced by `make bench` (`python -m bench.run --part notifications`); bench/notifications_bench.py says "
        "what the stream is and how the rate is measured.",
        "",
        f"{results['events']:,} events already on a 6-partition referrals topic and a 6-partition consent topic: "
        f"{cfg['children']:,} children, each registered at a setting, joined by an SLT service, a consent for it, "
        f"then case facts; {cfg['subscribed_children']} children have subscribers (inbox, e-mail, webhook, a parent), "
        "the others none. The service runs as a real process (`python -m services.notifications`).",
        "",
        "| consumer | events/s | ratio to raw getmany | inbox items | delivery jobs | load 1 min during (min–max) |",
        "|---|---:|---:|---:|---:|---|",
        f"| raw aiokafka getmany of both topics (median of {cfg['raw_runs']}) | {raw:,} | 1 | | | |",
    ]
    for key, what in (("faust_agent_storing_nothing_events_per_s",
                       "a Faust batch agent (services.common.streams), storing nothing"),
                      ("batch_consumer_storing_nothing_events_per_s",
                       "the batch consumer (services.common.batch_consumer), storing nothing")):
        if key in results:
            lines.append(f"| {what} | {results[key]:,} | {results[key] / raw:.4f} | | | |")
    for backend in cfg["backends"]:
        m = results.get(backend)
        if m is None:
            continue
        load = m.get("load_average_1min_during")
        lines.append(f"| notifications service → {backend} (target ≥ 1,000 events/s) | {m['events_per_s']:,.0f} | "
                     f"{m['ratio_to_raw_getmany']:.4f} | {m['inbox_items']:,} | {m['delivery_jobs']:,} | "
                     f"{'' if load is None else f'{load[0]}–{load[1]}'} |")
    lines += ["", "Steady-state rate: events after the first seen / (time of the last - time of the first), counted "
              "from outside in the service's processed-events table every 50 ms.",
              "", "The delivery jobs may differ between runs and stores: the consent topic and the referrals topic are "
              "not ordered with each other, so whether a child's consent is applied before or after some of its case "
              "facts depends on how the consumer's fetches interleave the partitions (fewer when a child's consent comes "
              "after some of its case facts).",
              "", "The inbox items are counted as the last event is stored, and they are written by the delivery "
              "worker, which decides nothing until the consent copy has caught up with the topics (the freshness "
              "gate, services.common.consent_freshness): they are what it delivered in the moments of the run when "
              "the copy had caught up, and 0 when it never had (an ingest that never pauses stays behind)."]
    return "\n".join(lines) + "\n"
