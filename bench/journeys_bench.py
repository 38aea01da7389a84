"""Two paths a person feels (issue 15), through the four real services as processes
(`python -m services.<name>`, each with its own store: SQLite, or PostgreSQL) on this run's own
topics and consumer groups:

1. Concern → visible to another organisation. The nursery SENCO (Priya) POSTs a concern to the
   referrals API; the SLT service (Sam's organisation), on the child's team with a consent for
   concerns, watches the timeline's store (a read-only SELECT every 10 ms, bench.common.until_stored)
   until the entry is committed, then reads the timeline API every 10 ms (backing off to a tenth
   of its wait past 100 ms: JourneysConfig.poll_backoff) until it shows. Latency = from just
   before the POST is sent to the response of the first GET that shows the entry. At
   `concern_rate_per_s` for `concern_seconds`, spread over `concern_children` children.
2. Consent withdrawal → hidden. Each child also has a consent for health visiting (Grace's
   organisation), which stays. The parent withdraws Sam's consent (`withdrawals` children, one
   at a time every 1/`withdrawal_rate_per_s` s); from the moment the answer is received, Sam's
   organisation reads the timeline every 10 ms. Strict: the first GET sent after the answer
   counts — does it still show an entry shown on the withdrawn consent? Time until hidden = the
   answer to the response of the first read showing none. Right after the answer, Priya raises
   a new concern for the child: Sam must be told nothing of it (no delivery job, no inbox item,
   nothing in the inbox API), while Grace (the control) is told.
3. Removal from the team → hidden. After that, the parent removes Grace's organisation from the
   team of the same children; her consent stays. From the moment the answer is received, her
   organisation reads the timeline every 10 ms. Strict as for a withdrawal: does the first GET
   sent after the answer still show an entry shown on her consent (rule 5 needs the team)?

Where the time goes, per sample, from the stores and the topics after the run: the outbox row's
`created_at` (written in the request's transaction), the record's timestamp on the topic (the
broker's append time: the run's topics are made with LogAppendTime), the timeline's `processed_events.processed_at` (the event claimed in a consumer
batch, before its commit), and the read that showed it. All on one machine's clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import MetaData, create_engine, select

from bench.chaos.driver import WATCHED_GRANTS, ApiClient, Child, Tally, Workload, parent_of
from bench.common import (
    API_NAMES, TOPIC_KINDS, bench_stack, create_topics, delete_topics, next_poll_s, percentile, until_stored,
)
from bench.timeline_bench import Database, rss_mb
from demo.cast import GRACE, PRIYA, SAM, Person
from services.common.db import make_engine
from services.common.idempotency import define_processed_events_table
from services.common.kafka_admin import wait_for_broker
from services.common.outbox import define_outbox_table
from services.notifications.adapters.tables import delivery_jobs, inbox
from services.timeline.adapters.tables import entries

CONCERN = {"areas_of_need": ["communication_and_interaction"], "summary": "Uses few words; key person noticed it."}
SAM_GRANT, GRACE_GRANT = WATCHED_GRANTS  # Sam's organisation by id; the health-visiting agency


@dataclass
class JourneysConfig:
    bootstrap: str = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    backends: tuple[str, ...] = ("sqlite",)
    concern_rate_per_s: float = 20.0
    concern_seconds: float = 15.0
    concern_children: int = 30
    withdrawals: int = 200
    withdrawal_rate_per_s: float = 10.0
    poll_interval_s: float = 0.01
    # A concern's reader waits the longer of poll_interval_s and this share of its wait so far
    # (bench.common.next_poll_s, as the timeline benchmark's watchers do): within the target
    # (150 ms) a figure is read to within 15 ms. The withdrawal's reader polls every poll_interval_s.
    poll_backoff: float = 0.1
    setup_concurrency: int = 8
    notification_wait_s: float = 60.0


def quick_config(bootstrap: str | None = None) -> JourneysConfig:
    config = JourneysConfig(concern_seconds=3, concern_children=5, withdrawals=20, notification_wait_s=30)
    if bootstrap:
        config.bootstrap = bootstrap
    return config


def summary(ms: list[float]) -> dict[str, Any]:
    if not ms:
        return {"samples": 0}
    return {"samples": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
            "mean_ms": round(statistics.fmean(ms), 1), "max_ms": round(max(ms), 1)}


# -- the stack and the children ---------------------------------------------------------------


class Journeys:
    """One backend's run: the stack, the API clients, the children set up through the APIs."""

    def __init__(self, config: JourneysConfig, backend: str, workdir: Path) -> None:
        self.config, self.backend, self.workdir = config, backend, workdir
        suffix = uuid.uuid4().hex[:10]
        self.topics = {kind: f"bench.journeys.{kind}.{suffix}" for kind in TOPIC_KINDS}
        self.dbs = {name: Database(backend, workdir) for name in API_NAMES}
        env = {f"TAC_{name.upper()}_DATABASE_URL": db.url for name, db in self.dbs.items()}
        self.stack = bench_stack(workdir, config.bootstrap, self.topics, f"journeys-{suffix}", extra_env=env)
        self.urls = self.stack.urls
        self.children: list[Child] = []
        # The timeline's store, read only, by a concern's reader (wait_visible): a plain engine.
        self.timeline_store = create_engine(self.dbs["timeline"].url)
        # Idle connections are let go after 2 s, before the services' server closes them (5 s):
        # a POST is never sent on a connection the other side is closing.
        self.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(
            max_connections=200, max_keepalive_connections=200, keepalive_expiry=2.0))
        self.api = ApiClient(self.urls, Tally())
        self.workload = Workload(self.api, receivers_url=None, rng=random.Random(15))
        self._tokens: dict[tuple[str, tuple], dict[str, str]] = {}

    def auth(self, person: Person, child: Child | None = None) -> dict[str, str]:
        """Headers with the person's token, made once: a token costs ~10-50 ms of CPU (the key
        is loaded and signs each time), so every one is made during the set-up, never while a
        path is measured (it would stall the client's event loop, not the services)."""
        children = (child.child_id,) if child else ()
        key = (person.key, children)
        if key not in self._tokens:
            self._tokens[key] = {"Authorization": f"Bearer {person.token(children=children)}"}
        return self._tokens[key]

    def pids(self) -> dict[str, int]:
        return json.loads(self.stack.pidfile.read_text())

    def rss(self) -> dict[str, float]:
        return {name: rss_mb(pid) for name, pid in self.pids().items()}

    async def start(self) -> None:
        # Record timestamps are the broker's append time: "on the topic" below is when an event
        # became readable, not when its producer stamped it.
        await create_topics(self.config.bootstrap, list(self.topics.values()),
                            configs={"message.timestamp.type": "LogAppendTime"})
        self.stack.start()
        await asyncio.to_thread(self.stack.wait_until_ready, 300)

    async def stop(self) -> None:
        self.timeline_store.dispose()
        await self.http.aclose()
        await self.api.close()
        self.stack.stop()
        for db in self.dbs.values():
            db.drop()
        await delete_topics(self.config.bootstrap, list(self.topics.values()))

    async def set_up(self, count: int) -> None:
        """`count` children registered by Priya's nursery; Sam's and Grace's organisations added to
        each team by the parent; a consent for each (concerns included); a first concern, waited
        for until Sam's organisation sees it. Sam and Grace subscribe (inbox only)."""
        for person in (SAM, GRACE):
            await self.api.call("subscribe", person, "PUT", "notifications", "/subscriptions/me", json={})
        for person in (SAM, GRACE, PRIYA):
            self.auth(person)
        dob = (date.today() - timedelta(days=400)).isoformat()

        async def equip(i: int) -> None:
            made = await self.api.call("register child", PRIYA, "POST", "referrals", "/children", json={
                "given_name": f"Child{i}", "family_name": "Journey", "date_of_birth": dob})
            child = Child(i, uuid.UUID(str(made["child_id"])), True, parent_of(i))
            for person in (SAM, GRACE):
                await self.workload.add_to_team(child, person.organisation_id)
            for recipients, categories in (SAM_GRANT, GRACE_GRANT):
                await self.workload.grant(child, recipients, categories)
            if len(child.consents) != 2:
                raise RuntimeError(f"child {i}: consents not granted ({self.api.tally})")
            await asyncio.to_thread(self.auth, child.parent, child)
            posted = await self.api.call("concern", PRIYA, "POST", "referrals", f"/children/{child.child_id}/concerns",
                                         json=CONCERN)
            await self.wait_visible(child, posted["event_id"], every_s=0.1)
            self.children.append(child)

        pending = iter(range(count))

        async def worker() -> None:
            for i in pending:
                await equip(i)

        await asyncio.gather(*(worker() for _ in range(self.config.setup_concurrency)))
        self.children.sort(key=lambda ch: ch.index)

    async def timeline_as(self, child: Child, person: Person = SAM) -> list[dict] | None:
        """What Sam's organisation (or `person`'s) sees of the child's timeline; None for an answer
        other than 200, or none (a kept-alive connection the server had closed: the caller reads
        again)."""
        try:
            response = await self.http.get(f"{self.urls['timeline']}/children/{child.child_id}/timeline",
                                           headers=self.auth(person))
        except httpx.TransportError:
            return None
        return response.json()["entries"] if response.status_code == 200 else None

    async def wait_visible(self, child: Child, event_id: str | None = None, *, summary: str | None = None,
                           every_s: float | None = None, timeout_s: float = 120,
                           once_stored: bool = False) -> tuple[int, float]:
        """Sam's organisation reads every `every_s` (the poll interval) until the entry (by event
        id, or by its summary) shows; returns the reads and how long the showing one took (ms).
        `once_stored`: the reads start once the timeline's store holds it (bench.common.until_stored)."""
        deadline, reads = time.monotonic() + timeout_s, 0
        started = time.perf_counter()
        if once_stored:
            assert summary is not None, "the store is searched by summary"
            await until_stored(self.timeline_store, select(entries.c.event_id).where(
                entries.c.child_id == str(child.child_id), entries.c.summary.contains(summary, autoescape=True)),
                interval_s=self.config.poll_interval_s, deadline=deadline, what=f"entry {summary}")
        while True:
            reads += 1
            read_sent = time.perf_counter()
            if any(e["event_id"] == event_id or (summary and e["data"].get("summary") == summary)
                   for e in await self.timeline_as(child) or ()):
                return reads, (time.perf_counter() - read_sent) * 1000
            if time.monotonic() > deadline:
                raise RuntimeError(f"entry {event_id or summary} not visible to {SAM.organisation_id} after {timeout_s}s")
            await asyncio.sleep(every_s or next_poll_s(time.perf_counter() - started, self.config.poll_interval_s,
                                                       self.config.poll_backoff))

    async def raise_concern(self, child: Child, summary: str = CONCERN["summary"]) -> str:
        response = await self.http.post(f"{self.urls['referrals']}/children/{child.child_id}/concerns",
                                         json={**CONCERN, "summary": summary}, headers=self.auth(PRIYA))
        response.raise_for_status()
        return response.json()["event_id"]

    # -- 1. concern → visible --------------------------------------------------------------------

    async def concern_to_visible(self) -> list[dict]:
        cfg = self.config
        children = self.children[:cfg.concern_children]
        count = int(cfg.concern_rate_per_s * cfg.concern_seconds)

        async def one(child: Child) -> dict:
            # The reader polls from the moment the POST is sent, as another organisation would
            # (it does not wait for the writer's answer): the entry is known by its summary.
            summary = f"Uses few words ({uuid.uuid4().hex[:12]})"
            sent_wall, sent = time.time(), time.perf_counter()
            watching = asyncio.create_task(self.wait_visible(child, summary=summary, once_stored=True))
            event_id = await self.raise_concern(child, summary)
            answered = time.perf_counter()
            reads, read_ms = await watching
            seen = time.perf_counter()
            return {"event_id": event_id, "sent_at": sent_wall, "answered_ms": (answered - sent) * 1000,
                    "latency_ms": (seen - sent) * 1000, "visible_at": sent_wall + (seen - sent), "reads": reads,
                    "showing_read_ms": read_ms}

        return await _paced(count, cfg.concern_rate_per_s, lambda i: one(children[i % len(children)]))

    # -- 2. withdrawal → hidden ------------------------------------------------------------------

    async def withdrawal_to_hidden(self) -> list[dict]:
        cfg = self.config

        async def one(child: Child) -> dict:
            consent_id = child.consents[0]  # Sam's
            withdrawn_basis = f"consent:{consent_id}"
            response = await self.http.post(
                f"{self.urls['consent']}/children/{child.child_id}/consents/{consent_id}/withdrawal", json={},
                headers=self.auth(child.parent, child))
            answered_wall, answered = time.time(), time.perf_counter()
            response.raise_for_status()
            new_concern = asyncio.create_task(self.raise_concern(child))
            new_concern_shown = 0

            def count_new_concern(entries: list[dict]) -> None:
                nonlocal new_concern_shown
                if new_concern.done() and any(e["event_id"] == new_concern.result() for e in entries):
                    new_concern_shown += 1

            until = await self.until_hidden(child, SAM, withdrawn_basis, on_read=count_new_concern)
            hidden = until.pop("hidden")
            return {"child_id": str(child.child_id), "withdrawal_event_id": response.json()["event_id"],
                    "answered_at": answered_wall, "hidden_ms": (hidden - answered) * 1000,
                    "hidden_at": answered_wall + (hidden - answered), **until,
                    "new_concern_event_id": await new_concern, "new_concern_shown_reads": new_concern_shown}

        return await _paced(min(cfg.withdrawals, len(self.children)), cfg.withdrawal_rate_per_s,
                            lambda i: one(self.children[i]))

    # -- 3. removal from the team → hidden ---------------------------------------------------

    async def removal_to_hidden(self) -> list[dict]:
        cfg = self.config

        async def one(child: Child) -> dict:
            shown_on = f"consent:{child.consents[1]}"  # Grace's, which stays
            before = [e for e in await self.timeline_as(child, GRACE) or () if e["basis"] == shown_on]
            response = await self.http.post(
                f"{self.urls['referrals']}/children/{child.child_id}/team/{GRACE.organisation_id}/remove",
                json={"reason": "No longer involved"}, headers=self.auth(child.parent, child))
            answered = time.perf_counter()
            response.raise_for_status()
            until = await self.until_hidden(child, GRACE, shown_on)
            hidden = until.pop("hidden")
            return {"child_id": str(child.child_id), "removal_event_id": response.json()["event_id"],
                    "shown_before": len(before), "hidden_ms": (hidden - answered) * 1000, **until}

        return await _paced(min(cfg.withdrawals, len(self.children)), cfg.withdrawal_rate_per_s,
                            lambda i: one(self.children[i]))

    async def until_hidden(self, child: Child, person: Person, basis: str, *,
                           on_read: Callable[[list[dict]], None] = lambda _entries: None) -> dict[str, Any]:
        """`person`'s organisation reads the child's timeline every poll_interval_s, from now,
        until no entry shown on `basis` is left (a refused read is read again). Strict: does the
        first answered read still show any? `on_read` sees every answered read's entries.
        Returns when it was hidden (`hidden`, perf_counter) and what the reads came to."""
        first_read_showed, reads, refused = None, 0, 0
        while True:
            read_sent = time.perf_counter()
            entries = await self.timeline_as(child, person)
            reads += 1
            if reads == 1:
                first_read_ms = (time.perf_counter() - read_sent) * 1000
            if entries is None:  # not an answer that hides anything: read again
                refused += 1
                await asyncio.sleep(self.config.poll_interval_s)
                continue
            still = [e for e in entries if e["basis"] == basis]
            if first_read_showed is None:
                first_read_showed = len(still)
            on_read(entries)
            if not still:
                hidden = time.perf_counter()
                return {"hidden": hidden, "first_read_showed": first_read_showed, "first_read_ms": first_read_ms,
                        "hiding_read_ms": (hidden - read_sent) * 1000, "reads": reads, "reads_refused": refused}
            await asyncio.sleep(self.config.poll_interval_s)

    async def notifications_after(self, samples: list[dict]) -> dict[str, Any]:
        """Who was told of the concerns raised after the withdrawals: Grace (the control) must be,
        Sam must not. Waits for Grace's inbox items first, so the count for Sam is not early."""
        new_ids = {s["new_concern_event_id"] for s in samples}
        engine = make_engine(self.dbs["notifications"].url)

        def told(person: Person) -> tuple[dict[str, float], dict[str, float]]:
            """The person's delivery jobs and inbox items about those concerns: event id -> created_at."""
            with engine.connect() as conn:
                return tuple({row[0]: _epoch(row[1]) for row in conn.execute(
                    select(table.c.about_event_id, table.c.created_at).where(table.c.person_id == person.key))
                    if row[0] in new_ids} for table in (delivery_jobs, inbox))

        def job_status(person: Person) -> dict[str, int]:
            with engine.connect() as conn:
                rows = conn.execute(select(delivery_jobs.c.about_event_id, delivery_jobs.c.status).where(
                    delivery_jobs.c.person_id == person.key)).all()
            return dict(Counter(status for about, status in rows if about in new_ids))

        try:
            started = time.monotonic()
            while len((await asyncio.to_thread(told, GRACE))[1]) < len(new_ids):
                if time.monotonic() - started > self.config.notification_wait_s:
                    break
                await asyncio.sleep(0.5)
            waited = time.monotonic() - started
            grace_jobs, grace_items = await asyncio.to_thread(told, GRACE)
            sam_jobs, sam_items = await asyncio.to_thread(told, SAM)
            sam_job_status = await asyncio.to_thread(job_status, SAM)
        finally:
            engine.dispose()
        sam_api = len(new_ids & await self.inbox_event_ids(SAM))
        return {"concerns_after_withdrawal": len(new_ids), "waited_for_control_s": round(waited, 1),
                "control_grace_delivery_jobs": len(grace_jobs), "control_grace_inbox_items": len(grace_items),
                "withdrawn_sam_delivery_jobs": len(sam_jobs), "withdrawn_sam_delivery_jobs_by_status": sam_job_status,
                "withdrawn_sam_inbox_items": len(sam_items),
                "withdrawn_sam_inbox_api_items": sam_api,
                "withdrawn_sam_told": [{"concern_event_id": e, "job_created_at": at, "inbox_created_at": sam_items.get(e)}
                                       for e, at in sam_jobs.items()]}

    async def inbox_event_ids(self, person: Person) -> set[str]:
        """Every item of the person's inbox through the API (paged; retried while catching up)."""
        seen: set[str] = set()
        before = None
        while True:
            params = {"limit": 200, **({"before": before} if before else {})}
            response = await self.http.get(f"{self.urls['notifications']}/inbox", params=params,
                                           headers=self.auth(person))
            if response.status_code == 503:
                await asyncio.sleep(0.5)
                continue
            response.raise_for_status()
            page = response.json()
            seen.update(item["about_event_id"] for item in page["items"])
            before = page["next_before"]
            if not before:
                return seen


class LoopLag:
    """How late the benchmark client's own event loop wakes from a 10 ms sleep, while a path is
    measured: a client falling behind shows up here rather than as the services' latency."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._task: asyncio.Task | None = None

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags_ms.append((time.perf_counter() - started - 0.01) * 1000)

    async def __aenter__(self) -> "LoopLag":
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()


async def _paced(count: int, rate_per_s: float, start_one) -> list[dict]:
    """Start `start_one(i)` for i in range(count) at `rate_per_s`, each as its own task (a slow
    one does not hold the next back); their results."""
    tasks = []
    started = time.perf_counter()
    for i in range(count):
        await asyncio.sleep(max(0.0, started + i / rate_per_s - time.perf_counter()))
        tasks.append(asyncio.create_task(start_one(i)))
    return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout=600))


# -- where the time goes -----------------------------------------------------------------------


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _read_times(url: str, table_of, column: str) -> dict[str, float]:
    table = table_of(MetaData())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {row[0]: _epoch(row[1]) for row in conn.execute(select(table.c.event_id, table.c[column]))}
    finally:
        engine.dispose()


async def record_times(bootstrap: str, topics: list[str]) -> dict[str, float]:
    """Event id -> the record's timestamp on the topic (the broker's append time, as the run's
    topics are made)."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        partitions = list(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        times: dict[str, float] = {}
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    times[json.loads(record.value)["id"]] = record.timestamp / 1000
        return times
    finally:
        await consumer.stop()


async def timestamps(journeys: Journeys) -> dict[str, dict[str, float]]:
    """Event id -> when, for each hop: written to an outbox (referrals, consent), on the topic,
    claimed by the timeline, claimed by notifications."""
    dbs = journeys.dbs
    return {
        "written": {**_read_times(dbs["referrals"].url, define_outbox_table, "created_at"),
                    **_read_times(dbs["consent"].url, define_outbox_table, "created_at")},
        "on_topic": await record_times(journeys.config.bootstrap,
                                       [journeys.topics["referrals"], journeys.topics["consent"]]),
        "timeline_claimed": _read_times(dbs["timeline"].url, define_processed_events_table, "processed_at"),
        "notifications_claimed": _read_times(dbs["notifications"].url, define_processed_events_table, "processed_at"),
    }


def stages(ts: dict[str, dict[str, float]], concerns: list[dict], withdrawals: list[dict]) -> dict[str, Any]:
    """Per hop, p50 and p99 over the samples (ms)."""
    written, on_topic, claimed = ts["written"], ts["on_topic"], ts["timeline_claimed"]

    def hops(samples: list[dict], key: str, start: str, end: str, names: tuple[str, ...]) -> dict[str, Any]:
        spans: dict[str, list[float]] = {name: [] for name in names}
        for s in samples:
            e = s[key]
            if e not in written or e not in on_topic or e not in claimed:
                continue
            marks = [s[start], written[e], on_topic[e], claimed[e], s[end]]
            for name, a, b in zip(names, marks, marks[1:]):
                spans[name].append((b - a) * 1000)
            # In the JSON: each mark in ms from the sample's start (the POST sent, the answer received).
            s["marks_ms"] = dict(zip(("written", "on_topic", "timeline_claimed", "end"),
                                     (round((at - s[start]) * 1000, 1) for at in marks[1:])))
        return {name: {k: v for k, v in summary(ms).items() if k in ("samples", "p50_ms", "p99_ms")}
                for name, ms in spans.items()}

    return {
        "concern_to_visible": hops(concerns, "event_id", "sent_at", "visible_at", (
            "POST sent → outbox row written (request, before commit)",
            "outbox row → appended to the topic (commit, relay wake-up, send)",
            "on the topic → claimed by the timeline (fetch, batch)",
            "claimed → first read showing it (apply, commit, next poll, read)")),
        "withdrawal_to_hidden": hops(withdrawals, "withdrawal_event_id", "answered_at", "hidden_at", (
            "answer received → outbox row written (negative: written before the answer)",
            "outbox row → appended to the topic (commit, relay wake-up, send)",
            "on the topic → claimed by the timeline (fetch, batch)",
            "claimed → first read hiding it (apply, commit, next poll, read)")),
    }


def told_late(ts: dict[str, dict[str, float]], withdrawals: list[dict], told: list[dict]) -> list[dict]:
    """For each job (and inbox item) made for the withdrawn organisation about a concern raised
    after its withdrawal was answered: when, in ms from that answer, each fact reached the topic
    and the notifications service, and the job and the item were made."""
    by_concern = {w["new_concern_event_id"]: w for w in withdrawals}
    out = []
    for t in told:
        w = by_concern[t["concern_event_id"]]
        since = lambda at: None if at is None else round((at - w["answered_at"]) * 1000, 1)  # noqa: E731
        wid, cid = w["withdrawal_event_id"], t["concern_event_id"]
        out.append({"concern_event_id": cid, "child_id": w["child_id"],
                    "ms_after_withdrawal_answered": {
                        "withdrawal_on_topic": since(ts["on_topic"].get(wid)),
                        "withdrawal_claimed_by_notifications": since(ts["notifications_claimed"].get(wid)),
                        "concern_on_topic": since(ts["on_topic"].get(cid)),
                        "concern_claimed_by_notifications": since(ts["notifications_claimed"].get(cid)),
                        "job_created": since(t["job_created_at"]), "inbox_item_created": since(t["inbox_created_at"])}})
    return out


# -- the run -----------------------------------------------------------------------------------


async def run(config: JourneysConfig, workdir: Path, say) -> dict[str, Any]:
    await wait_for_broker(config.bootstrap, timeout_s=60)
    results: dict[str, Any] = {"config": asdict(config)}
    for backend in config.backends:
        folder = workdir / backend
        folder.mkdir(parents=True, exist_ok=True)
        journeys = Journeys(config, backend, folder)
        measured: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
        try:
            await journeys.start()
            await asyncio.sleep(2)  # at rest: started, nothing to consume, nobody asking
            measured["rss_mb_at_rest"] = journeys.rss()
            say(f"journeys {backend}: stack ready; RSS at rest {measured['rss_mb_at_rest']} MB")
            started = time.perf_counter()
            await journeys.set_up(max(config.withdrawals, config.concern_children))
            measured["setup_s"] = round(time.perf_counter() - started, 1)
            say(f"journeys {backend}: {len(journeys.children)} children set up in {measured['setup_s']} s")

            async with LoopLag() as lag:
                concerns = await journeys.concern_to_visible()
            c = measured["concern_to_visible"] = {
                "rate_per_s": config.concern_rate_per_s, **summary([s["latency_ms"] for s in concerns]),
                "post_answered": summary([s["answered_ms"] for s in concerns]),
                "showing_read_duration": summary([s["showing_read_ms"] for s in concerns]),
                "reads_per_sample_mean": round(statistics.fmean(s["reads"] for s in concerns), 1),
                "client_loop_lag": summary(lag.lags_ms)}
            say(f"journeys {backend}: concern → visible to {SAM.organisation_id} at {config.concern_rate_per_s:g}/s: "
                f"{c['samples']} samples, p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, max {c['max_ms']} ms "
                f"(target p99 ≤ 150 ms); client loop lag p99 {c['client_loop_lag']['p99_ms']} ms")

            async with LoopLag() as lag:
                withdrawals = await journeys.withdrawal_to_hidden()
            showed = sum(1 for s in withdrawals if s["first_read_showed"])
            w = measured["withdrawal_to_hidden"] = {
                "rate_per_s": config.withdrawal_rate_per_s, **summary([s["hidden_ms"] for s in withdrawals]),
                "first_read_after_answer_still_showed": showed,
                "first_read_duration": summary([s["first_read_ms"] for s in withdrawals]),
                "hiding_read_duration": summary([s["hiding_read_ms"] for s in withdrawals]),
                "reads_per_sample_mean": round(statistics.fmean(s["reads"] for s in withdrawals), 1),
                "new_concern_shown_to_withdrawn_org_reads": sum(s["new_concern_shown_reads"] for s in withdrawals),
                "client_loop_lag": summary(lag.lags_ms)}
            say(f"journeys {backend}: withdrawal → hidden: {showed} of {w['samples']} first reads after the answer "
                f"still showed entries; until hidden p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, max {w['max_ms']} ms "
                f"(target p99 ≤ 100 ms); client loop lag p99 {w['client_loop_lag']['p99_ms']} ms")

            n = measured["notifications_after_withdrawal"] = await journeys.notifications_after(withdrawals)
            say(f"journeys {backend}: concerns after a withdrawal: {n['withdrawn_sam_delivery_jobs']} delivery jobs, "
                f"{n['withdrawn_sam_inbox_items']} inbox items, {n['withdrawn_sam_inbox_api_items']} in the inbox API "
                f"for the withdrawn organisation (must be 0); control {n['control_grace_inbox_items']} of "
                f"{n['concerns_after_withdrawal']} inbox items")
            removals = await journeys.removal_to_hidden()
            rm = measured["removal_to_hidden"] = {
                "rate_per_s": config.withdrawal_rate_per_s, **summary([s["hidden_ms"] for s in removals]),
                "first_read_after_answer_still_showed": sum(1 for s in removals if s["first_read_showed"]),
                "showed_entries_before_the_removal": sum(1 for s in removals if s["shown_before"]),
                "reads_per_sample_mean": round(statistics.fmean(s["reads"] for s in removals), 1),
                "reads_refused": sum(s["reads_refused"] for s in removals)}
            say(f"journeys {backend}: removal from the team → hidden: {rm['first_read_after_answer_still_showed']} of "
                f"{rm['samples']} first reads after the answer still showed entries (before it, "
                f"{rm['showed_entries_before_the_removal']} showed some); until hidden p50 {rm['p50_ms']} ms, "
                f"p99 {rm['p99_ms']} ms, max {rm['max_ms']} ms")
            measured["rss_mb_at_end"] = journeys.rss()
            say(f"journeys {backend}: RSS at the end {measured['rss_mb_at_end']} MB")
            measured["samples"] = {"concern_to_visible": concerns, "withdrawal_to_hidden": withdrawals,
                                   "removal_to_hidden": removals}  # JSON only
            ts = await timestamps(journeys)
            measured["stages"] = stages(ts, concerns, withdrawals)
            n["withdrawn_sam_told"] = told_late(ts, withdrawals, n["withdrawn_sam_told"])
            for path, hops in measured["stages"].items():
                say(f"journeys {backend}: {path} p50 by hop: "
                    + "; ".join(f"{name.split(' (')[0]} {h.get('p50_ms')}" for name, h in hops.items()))
            measured["api_setup_calls"] = journeys.api.tally.api_calls
        except Exception as exc:  # noqa: BLE001 - the other backends' figures still stand; the report says
            measured["error"] = repr(exc)[:500]
            say(f"journeys {backend}: FAILED {measured['error']}")
        finally:
            await journeys.stop()
            measured["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
            results[backend] = measured
    return results


def render_markdown(results: dict[str, Any], machine: dict[str, Any]) -> str:
    cfg = results["config"]
    lines = [
        f"# Journeys: concern → visible, withdrawal → hidden, removal from the team → hidden — {machine['started_at']}",
        "",
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}; Kafka single node, PostgreSQL, the four services "
        "and the benchmark client on the same machine (load average 1/5/15 min at start "
        f"{machine['load_average_at_start']}, at end {machine.get('load_average_at_end')}: other work on the machine "
        "shows up in these figures).",
        "Produced by `python -m bench.run --part journeys` (bench/journeys_bench.py says what is measured and how). "
        f"Timeline polled by the reading organisation (Riverside SLT: on the team, a consent for concerns) every "
        f"{cfg['poll_interval_s'] * 1000:g} ms after a withdrawal; for a concern, once the timeline's store holds it "
        f"(a read-only SELECT every {cfg['poll_interval_s'] * 1000:g} ms), then after the longer of that and "
        f"{cfg.get('poll_backoff', 0) * 100:g}% of its wait so far. Each read is a real one (access log, TimelineViewed).",
    ]
    for backend in cfg["backends"]:
        m = results.get(backend)
        if m and "error" in m:
            lines += ["", f"## {backend}: the run failed ({m['error']}); figures measured before the failure are "
                          "in the JSON"]
        if not m or "concern_to_visible" not in m or "withdrawal_to_hidden" not in m:
            continue
        c, w = m["concern_to_visible"], m.get("withdrawal_to_hidden", {})
        n = m.get("notifications_after_withdrawal", {})
        lines += [
            "", f"## {backend} (load 1 min {m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} "
            f"at end; {cfg['withdrawals']} children set up in {m.get('setup_s')} s)", "",
            "| path | samples | p50 ms | p99 ms | mean ms | max ms | target |", "|---|---:|---:|---:|---:|---:|---|",
            f"| concern → visible to another organisation, {c['rate_per_s']:g} writes/s over "
            f"{cfg['concern_children']} children | {c['samples']} | {c['p50_ms']} | {c['p99_ms']} | {c['mean_ms']} | "
            f"{c['max_ms']} | p99 ≤ 150 |",
        ]
        for key, what in (("post_answered", "the concern POST, sent → answered"),
                          ("showing_read_duration", "the read that showed it, sent → answered")):
            r = c[key]
            lines.append(f"| ({what}) | {r['samples']} | {r['p50_ms']} | {r['p99_ms']} | {r['mean_ms']} | "
                         f"{r['max_ms']} | |")
        if w:
            lines.append(f"| withdrawal answered → hidden, {w['rate_per_s']:g} withdrawals/s | {w['samples']} | "
                         f"{w['p50_ms']} | {w['p99_ms']} | {w['mean_ms']} | {w['max_ms']} | p99 ≤ 100 |")
            for key, what in (("first_read_duration", "the first read after the answer, sent → answered"),
                              ("hiding_read_duration", "the read that hid them, sent → answered")):
                r = w[key]
                lines.append(f"| ({what}) | {r['samples']} | {r['p50_ms']} | {r['p99_ms']} | {r['mean_ms']} | "
                             f"{r['max_ms']} | |")
            lines += ["", f"**First read after the withdrawal's answer still showed the withdrawn entries: "
                          f"{w['first_read_after_answer_still_showed']} of {w['samples']}.** Reads of the withdrawn "
                          f"organisation that showed the concern raised after the withdrawal: "
                          f"{w['new_concern_shown_to_withdrawn_org_reads']}."]
        rm = m.get("removal_to_hidden")
        if rm:
            lines += ["", "| path | samples | p50 ms | p99 ms | mean ms | max ms | target |",
                      "|---|---:|---:|---:|---:|---:|---|",
                      f"| removal from the team answered → hidden (the consent stays), {rm['rate_per_s']:g} removals/s | "
                      f"{rm['samples']} | {rm['p50_ms']} | {rm['p99_ms']} | {rm['mean_ms']} | {rm['max_ms']} | "
                      "as a withdrawal |",
                      "", f"**First read after the removal's answer still showed entries on the removed organisation's "
                          f"consent: {rm['first_read_after_answer_still_showed']} of {rm['samples']}** (before the "
                          f"removal, {rm['showed_entries_before_the_removal']} of {rm['samples']} reads showed some; "
                          f"{rm['reads_refused']} reads answered 503 while the timeline caught up)."]
        lags = [(what, x["client_loop_lag"]) for what, x in (("concerns", c), ("withdrawals", w)) if x]
        lines += ["", "The benchmark client's own event loop, woken late from a 10 ms sleep (what of the figures above "
                      "is the client's, not the services'): " + "; ".join(
                          f"{what} p50 {lag['p50_ms']} ms, p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms"
                          for what, lag in lags) + "."]
        if n:
            lines += ["", f"Notifications of the {n['concerns_after_withdrawal']} concerns raised right after each "
                          f"withdrawal's answer: the withdrawn organisation (Sam) — {n['withdrawn_sam_delivery_jobs']} "
                          f"delivery jobs ({n.get('withdrawn_sam_delivery_jobs_by_status', {})}), "
                          f"{n['withdrawn_sam_inbox_items']} inbox items stored, "
                          f"{n['withdrawn_sam_inbox_api_items']} in its inbox API (must be 0); the control (Grace, "
                          f"consent kept) — {n['control_grace_inbox_items']} inbox items "
                          f"(waited {n['waited_for_control_s']} s)."]
            told = n.get("withdrawn_sam_told") or []
            if told:
                keys = list(told[0]["ms_after_withdrawal_answered"])
                lines += ["", "Each job made for the withdrawn organisation, ms after the withdrawal's answer "
                              "(negative: before it):", "",
                          "| " + " | ".join(k.replace("_", " ") for k in keys) + " |", "|---:" * len(keys) + "|"]
                lines += ["| " + " | ".join(str(t["ms_after_withdrawal_answered"][k]) for k in keys) + " |"
                          for t in told[:20]]
        for path, hops in m.get("stages", {}).items():
            lines += ["", f"Where the time goes, {path.replace('_', ' ')} (per sample, from the stores and topics):",
                      "", "| hop | samples | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
            lines += [f"| {name} | {h['samples']} | {h.get('p50_ms', '–')} | {h.get('p99_ms', '–')} |"
                      for name, h in hops.items()]
        lines += ["", "| RSS MB | " + " | ".join(API_NAMES) + " |", "|---" * (len(API_NAMES) + 1) + "|"]
        for when in ("at_rest", "at_end"):
            rss = m.get(f"rss_mb_{when}", {})
            lines.append(f"| {when.replace('_', ' ')} | " + " | ".join(str(rss.get(s, "–")) for s in API_NAMES) + " |")
    return "\n".join(lines) + "\n"
