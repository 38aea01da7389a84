"""Where the timeline's time goes: pyinstrument profiles of its ingest and its read, in one
process, written as text to bench/results/profile-<what>-<backend>.txt.

    python -m bench.profile_timeline ingest --backend sqlite     # parse + store, 20,000 events
    python -m bench.profile_timeline faust                        # the Faust agent storing nothing
    python -m bench.profile_timeline read --backend postgresql    # GET …/timeline through the ASGI app
    python -m bench.profile_timeline gc --backend sqlite          # the collector's pauses in those reads
                                                                  # (bench/results/gc-pauses-<date>-<backend>.md)
    python -m bench.profile_timeline stages --backend sqlite      # ingest's time per event by stage, no profiler
                                                                  # (bench/results/ingest-stages-<date>-<backend>.md)
    python -m bench.profile_timeline read-parts --backend sqlite  # each query of a read, timed in turns, no profiler
                                                                  # (bench/results/read-parts-<date>-<backend>.md)

pyinstrument samples one thread; the service runs its database work in worker threads
(asyncio.to_thread), so here `asyncio.to_thread` runs its function inline: the profile then
shows the whole path, event loop and database work alike, in one tree. The absolute times are
not the bench's (no broker round trips for ingest, no socket for reads): the bench measures,
this only says where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from bench.timeline_bench import (
    SLT, BenchConfig, Database, concern_event, create_bench_topics, delete_topics, faust_only, produce, reads_consent_events, seed_reads,
    token,
)
from schemas.envelope import Actor
from schemas.topics import REFERRALS
from schemas.vocabulary import Agency
from bench.common import percentile
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.pipeline import BatchIngestor
from services.common.heap import freeze_start_up_objects
from services.common.incoming import Incoming
from services.timeline.adapters.store import TimelineStore
from services.timeline.bootstrap import MIGRATIONS

RESULTS = Path(__file__).resolve().parent / "results"


async def _inline(func, /, *args, **kwargs):
    return func(*args, **kwargs)


async def _always_fresh(freshness, wait_s, *, child=None) -> bool:
    return True


def _write(profiler: Profiler, name: str, out: Path, note: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"profile-{name}.txt"
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    path.write_text(f"{note}\nload average at end: {[round(x, 2) for x in os.getloadavg()]}\n\n{text}")
    print(f"profile: wrote {path}")
    return path


async def profile_ingest(backend: str, events: int, batch: int, workdir: Path, out: Path) -> None:
    db = Database(backend, workdir)
    try:
        run_migrations(db.url, MIGRATIONS)
        engine = make_engine(db.url)
        store = TimelineStore(make_session_factory(engine))
        children = [uuid.uuid4() for _ in range(1_000)]
        messages = [
            Incoming(value=e.to_json_bytes(), key=e.key, topic=REFERRALS.name, partition=i % 6, offset=i,
                     source=REFERRALS)
            for i, e in enumerate(concern_event(children[i % len(children)]) for i in range(events))
        ]

        async def dead_letter(message, reason):  # every event is valid: nothing is parked
            raise AssertionError(reason)

        ingestor = BatchIngestor(store, dead_letter)
        ingestor._in_thread = _inline  # type: ignore[method-assign]
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        with profiler:
            for start in range(0, len(messages), batch):
                await ingestor.ingest(messages[start:start + batch])
        assert store.count_processed() == events
        seconds = profiler.last_session.duration
        _write(profiler, f"ingest-{backend}", out,
               f"timeline ingest, in process: {events:,} events in batches of {batch}, parse + store into {backend} "
               f"({events / seconds:,.0f} events/s under the profiler)")
        engine.dispose()
    finally:
        db.drop()


# What `stages` times, as (module or class, attribute, label); a stage inside another is indented.
_STAGES = (
    ("services.common.pipeline", "parse_batch", "parse and validate (parse_batch)"),
    ("services.timeline.adapters.store.TimelineStore", "ingest", "store the batch (TimelineStore.ingest)"),
    ("services.common.unit_of_work.UnitOfWork", "claim_keys", "  claim the ids (SELECT + INSERT processed_events)"),
    ("services.common.idempotency", "seen_among", "  SELECTs of keys claimed before (the ids and their placeholders')"),
    ("services.common.messagebus.MessageBus", "handle", "  handlers (entry, rendering)"),
    ("services.common.unit_of_work.UnitOfWork", "flush", "  INSERT the entries"),
    ("sqlalchemy.orm.session.SessionTransaction", "commit", "  COMMIT (and any checkpoint)"),
)


def _timing(totals: dict[str, float]) -> list[tuple[Any, str, Any]]:
    """Wraps each of _STAGES to add its wall time to `totals`; returns what to put back."""
    import importlib

    undo = []
    for where, name, label in _STAGES:
        try:
            owner: Any = importlib.import_module(where)
        except ModuleNotFoundError:
            module_name, _, cls = where.rpartition(".")
            owner = getattr(importlib.import_module(module_name), cls)
        original = getattr(owner, name)

        def timed(*args, __original=original, __label=label, **kwargs):
            began = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                totals[__label] = totals.get(__label, 0.0) + time.perf_counter() - began

        setattr(owner, name, timed)
        undo.append((owner, name, original))
    return undo


async def ingest_stages(backend: str, events: int, batch: int, workdir: Path, out: Path) -> None:
    """Ingest in process as `ingest` does, without a profiler: wall time per event in each
    stage. On SQLite twice, in turns: as the services configure it, and with SQLite's default
    WAL checkpoint (every 1,000 pages) for comparison."""
    variants = {"as configured": None}
    if backend == "sqlite":
        variants["SQLite's default checkpoint (1,000 pages)"] = "PRAGMA wal_autocheckpoint=1000"
    results: dict[str, dict[str, float]] = {}
    for turn in range(2):
        for variant, pragma in variants.items():
            totals: dict[str, float] = {}
            db = Database(backend, workdir)
            try:
                run_migrations(db.url, MIGRATIONS)
                engine = make_engine(db.url)
                if pragma is not None:
                    from sqlalchemy import event

                    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute(pragma))
                store = TimelineStore(make_session_factory(engine))
                children = [uuid.uuid4() for _ in range(1_000)]
                messages = [Incoming(value=e.to_json_bytes(), key=e.key, topic=REFERRALS.name, partition=i % 6,
                                     offset=i, source=REFERRALS)
                            for i, e in enumerate(concern_event(children[i % len(children)]) for i in range(events))]

                async def dead_letter(message, reason):
                    raise AssertionError(reason)

                ingestor = BatchIngestor(store, dead_letter)
                ingestor._in_thread = _inline  # type: ignore[method-assign]
                undo = _timing(totals)
                began = time.perf_counter()
                try:
                    for start in range(0, len(messages), batch):
                        await ingestor.ingest(messages[start:start + batch])
                finally:
                    seconds = time.perf_counter() - began
                    for owner, name, original in undo:
                        setattr(owner, name, original)
                assert store.count_processed() == events
                engine.dispose()
            finally:
                db.drop()
            row = {"all": seconds, **totals}
            previous = results.get(variant)
            results[variant] = row if previous is None or previous["all"] > row["all"] else previous
            print(f"stages: {variant}, turn {turn + 1}: {events / seconds:,.0f} events/s")
    labels = ["all"] + [label for _, _, label in _STAGES]
    names = list(variants)
    lines = [f"# Timeline ingest by stage ({backend})", "",
             f"`python -m bench.profile_timeline stages --backend {backend}`: {events:,} events in batches of {batch}, "
             "in process (no broker), each stage's wall time divided by the events; the faster of two turns of each. "
             f"Load average at the end: {[round(x, 2) for x in os.getloadavg()]}.", "",
             "| stage | " + " | ".join(f"{n}, us/event" for n in names) + " |",
             "|---|" + "---:|" * len(names)]
    for label in labels:
        cells = [f"{results[n].get(label, 0.0) / events * 1e6:.1f}" for n in names]
        depth = (len(label) - len(label.lstrip())) // 2
        lines.append(f"| {'everything' if label == 'all' else '↳ ' * depth + label.strip()} | " + " | ".join(cells) + " |")
    lines.append("| events/s | " + " | ".join(f"{events / results[n]['all']:,.0f}" for n in names) + " |")
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"ingest-stages-{date.today().isoformat()}-{backend}"
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    stem.with_suffix(".json").write_text(json.dumps({"backend": backend, "events": events, "batch": batch, **{
        n: {label: results[n].get(label, 0.0) / events * 1e6 for label in labels} for n in names}}, indent=2))
    print("\n".join(lines))
    print(f"stages: wrote {stem}.md and .json")


async def profile_faust(events: int, workdir: Path, out: Path, bootstrap: str) -> None:
    topics = await create_bench_topics(bootstrap, "profile")
    try:
        await produce(bootstrap, topics["referrals"], [concern_event(uuid.uuid4()) for _ in range(events)])
        profiler = Profiler(interval=0.0005, async_mode="enabled")
        with profiler:
            rate = await faust_only(bootstrap, topics, events, workdir)
        _write(profiler, "faust-agent", out,
               f"the timeline's Faust agent storing nothing, {events:,} events ({rate:,.0f} events/s under the profiler)")
    finally:
        await delete_topics(bootstrap, topics.values())


@asynccontextmanager
async def read_client(backend: str, workdir: Path, bootstrap: str) -> AsyncIterator[tuple[Any, list]]:
    """An HTTP client of the timeline's app, in this process, over a store seeded for the reads
    benchmark; and the two reads: (name, path, query, headers)."""
    import httpx

    from services.timeline.bootstrap import build
    from services.timeline.config import TimelineSettings
    from services.timeline.entrypoints import api as timeline_api

    config = BenchConfig()
    db = Database(backend, workdir)
    try:
        target = uuid.uuid4()
        run_migrations(db.url, MIGRATIONS)
        seed_reads(db.url, config, target)
        engine = make_engine(db.url)  # the consent and the join the service would consume
        TimelineStore(make_session_factory(engine)).ingest(
            [event for events in reads_consent_events(target).values() for event in events])
        engine.dispose()
        topics = await create_bench_topics(bootstrap, "profile-read")
        settings = TimelineSettings(environment="test", kafka_bootstrap_servers=bootstrap, database_url=db.url,
                                    audit_topic=topics["audit"], datadir=workdir / "faust")
        timeline = build(settings)  # the lifespan is not run: no consumer, no relay; reads need neither
        asyncio.to_thread = _inline  # type: ignore[assignment]
        # Nor the consent-freshness gate, whose broker client the lifespan starts: it is passed
        # here (it costs 0.4 ms p50 against the local broker, measured on its own).
        timeline_api.fresh_enough = _always_fresh  # type: ignore[assignment]
        parent = Actor(practitioner_id="mum-1", agency=Agency.PARENT, role="parent")
        path = f"/children/{target}/timeline"
        reads = [(name, path, {"limit": limit}, {"Authorization": f"Bearer {token(actor, children)}"})
                 for actor, children, limit, name in ((parent, [target], 1000, "all-1000"), (SLT, (), 100, "page-100"))]
        transport = httpx.ASGITransport(app=timeline.app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://timeline") as client:
                yield client, reads
        finally:
            timeline.runtime.engine.dispose()
            await delete_topics(bootstrap, topics.values())
    finally:
        db.drop()


async def profile_read(backend: str, requests: int, workdir: Path, out: Path, bootstrap: str) -> None:
    async with read_client(backend, workdir, bootstrap) as (client, reads):
        for name, path, query, headers in reads:
            for _ in range(5):
                (await client.get(path, params=query, headers=headers)).raise_for_status()
            profiler = Profiler(interval=0.0002, async_mode="disabled")
            with profiler:
                for _ in range(requests):
                    response = await client.get(path, params=query, headers=headers)
                    response.raise_for_status()
            shown = len(response.json()["entries"])
            ms = profiler.last_session.duration / requests * 1000
            _write(profiler, f"read-{name}-{backend}", out,
                   f"GET /children/{{id}}/timeline?limit={query['limit']} ({shown} shown) on {backend}, child with "
                   f"1,000 entries among 10,000, {requests} requests in process ({ms:.1f} ms each under the profiler)")


async def gc_pauses(backend: str, requests: int, workdir: Path, out: Path, bootstrap: str) -> None:
    """The collector's pauses during the reads, and the reads' latency, with the start-up heap
    left to the collector and then frozen (services.common.heap), in one process, one after
    the other."""
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    lines = [f"# Garbage-collector pauses during timeline reads ({backend})", "",
             f"`python -m bench.profile_timeline gc --backend {backend}`: {requests} reads of each kind in one "
             "process (the app over ASGI, as `read` profiles it), first with the start-up heap left to the collector, "
             "then frozen (`services.common.heap.freeze_start_up_objects`, what each service does once started). "
             f"Load average at start: {[round(x, 2) for x in os.getloadavg()]}.", "",
             "| heap | read | p50 ms | p90 ms | p99 ms | max ms | full collections | longest ms | all full collections ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    results: dict[str, Any] = {}
    async with read_client(backend, workdir, bootstrap) as (client, reads):
        gc.callbacks.append(timed)
        try:
            for heap in ("not frozen", "frozen"):
                if heap == "frozen":
                    freeze_start_up_objects()
                for name, path, query, headers in reads:
                    for _ in range(5):
                        (await client.get(path, params=query, headers=headers)).raise_for_status()
                    pauses.clear()
                    took = []
                    for _ in range(requests):
                        began = time.perf_counter()
                        (await client.get(path, params=query, headers=headers)).raise_for_status()
                        took.append((time.perf_counter() - began) * 1000)
                    full = [ms for generation, ms in pauses if generation == 2]
                    row = {"p50_ms": percentile(took, 50), "p90_ms": percentile(took, 90),
                           "p99_ms": percentile(took, 99), "max_ms": max(took), "full_collections": len(full),
                           "longest_full_ms": max(full, default=0.0), "all_full_ms": sum(full)}
                    results.setdefault(heap, {})[name] = row
                    lines.append(f"| {heap} | {name} | {row['p50_ms']:.1f} | {row['p90_ms']:.1f} | {row['p99_ms']:.1f} | "
                                 f"{row['max_ms']:.1f} | {len(full)} | {row['longest_full_ms']:.1f} | "
                                 f"{row['all_full_ms']:.0f} |")
        finally:
            gc.callbacks.remove(timed)
            gc.unfreeze()
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"gc-pauses-{date.today().isoformat()}-{backend}"
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    stem.with_suffix(".json").write_text(json.dumps({"backend": backend, "requests": requests, **results}, indent=2))
    print("\n".join(lines))
    print(f"gc: wrote {stem}.md and .json")


def read_parts(backend: str, rounds: int, workdir: Path, out: Path) -> None:
    """The parts of a read, each timed on its own in the store the reads benchmark seeds (a child
    with 1,000 entries among 10,000), in turns, `rounds` times each; the median of each. The
    queries in one snapshot, as a read takes them; recording a view as a recorded read of its own."""
    from services.timeline.domain.entries import ShownEntry
    from services.timeline.service_layer.reads import view_of

    db = Database(backend, workdir)
    try:
        target = uuid.uuid4()
        run_migrations(db.url, MIGRATIONS)
        seed_reads(db.url, BenchConfig(), target)
        engine = make_engine(db.url)
        store = TimelineStore(make_session_factory(engine))
        store.ingest([event for events in reads_consent_events(target).values() for event in events])
        kinds = store.entry_kinds(target)
        some_kinds = kinds[: max(1, len(kinds) // 2)]
        shown = [ShownEntry(entry, "consent") for chunk in store.entry_chunks(target, None, 100) for entry in chunk][:100]

        def record_view() -> None:
            """A recorded read that reads nothing: what recording adds to a read on this store."""
            with store.recorded_read() as read:
                record, viewed = view_of(target, shown, actor=SLT, now=datetime.now(timezone.utc), correlationid=None)
                read.record(record, viewed, audit_topic="bench.read-parts")

        took: dict[str, list[float]] = {}
        with store.reading() as snapshot:
            parts = {
                "consent state (one query, folded)": lambda: snapshot.consent_state(target),
                "the child's kinds of entry": lambda: snapshot.entry_kinds(target),
                "a chunk of 81 entries": lambda: next(snapshot.entry_chunks(target, None, 81)),
                f"a chunk of 81 entries of {len(some_kinds)} of the {len(kinds)} kinds":
                    lambda: next(snapshot.entry_chunks(target, None, 81, some_kinds)),
                "a chunk of 1,001 entries": lambda: next(snapshot.entry_chunks(target, None, 1001)),
                "record the view of 100 entries (a recorded read that reads nothing)": record_view,
            }
            for _ in range(max(1, rounds // 10)):  # warm: statement caches, page caches
                for part in parts.values():
                    part()
            for _ in range(rounds):
                for name, part in parts.items():
                    began = time.perf_counter()
                    part()
                    took.setdefault(name, []).append((time.perf_counter() - began) * 1000)
        engine.dispose()
    finally:
        db.drop()
    medians = {name: percentile(values, 50) for name, values in took.items()}
    lines = [f"# The parts of a timeline read ({backend})", "",
             f"`python -m bench.profile_timeline read-parts --backend {backend}`: the reads benchmark's store (a child "
             f"with 1,000 entries among 10,000), each part run {rounds} times in turns in one process, no profiler; "
             f"median ms. Load average at the end: {[round(x, 2) for x in os.getloadavg()]}.", "",
             "| part | median ms |", "|---|---:|", *(f"| {name} | {ms:.3f} |" for name, ms in medians.items())]
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"read-parts-{date.today().isoformat()}-{backend}"
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    stem.with_suffix(".json").write_text(json.dumps({"backend": backend, "rounds": rounds, "median_ms": medians},
                                                    indent=2))
    print("\n".join(lines))
    print(f"read-parts: wrote {stem}.md and .json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_timeline", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["ingest", "faust", "read", "gc", "stages", "read-parts"])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--gc-requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=500, help="read-parts: times each part is run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    with tempfile.TemporaryDirectory(prefix="tac-profile-") as tmp:
        workdir = Path(tmp)
        if args.what == "ingest":
            asyncio.run(profile_ingest(args.backend, args.events, args.batch, workdir, args.out))
        elif args.what == "stages":
            asyncio.run(ingest_stages(args.backend, args.events, args.batch, workdir, args.out))
        elif args.what == "faust":
            asyncio.run(profile_faust(args.events, workdir, args.out, bootstrap))
        elif args.what == "read-parts":
            read_parts(args.backend, args.rounds, workdir, args.out)
        elif args.what == "read":
            asyncio.run(profile_read(args.backend, args.requests, workdir, args.out, bootstrap))
        else:
            asyncio.run(gc_pauses(args.backend, args.gc_requests, workdir, args.out, bootstrap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
