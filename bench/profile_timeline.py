"""Where the timeline's time goes: pyinstrument profiles of its ingest and its read, in one
process, written as text to bench/results/profile-<what>-<backend>.txt.

    python -m bench.profile_timeline ingest --backend sqlite     # parse + store, 20,000 events
    python -m bench.profile_timeline faust                        # the Faust agent storing nothing
    python -m bench.profile_timeline read --backend postgresql    # GET …/timeline through the ASGI app

pyinstrument samples one thread; the service runs its database work in worker threads
(asyncio.to_thread), so here `asyncio.to_thread` runs its function inline: the profile then
shows the whole path, event loop and database work alike, in one tree. The absolute times are
not the bench's (no broker round trips for ingest, no socket for reads): the bench measures,
this only says where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid
from pathlib import Path

from pyinstrument import Profiler

from bench.timeline_bench import (
    SLT, BenchConfig, Database, concern_event, create_bench_topics, delete_topics, faust_only, produce, seed_reads,
    token,
)
from schemas.envelope import Actor
from schemas.topics import REFERRALS
from schemas.vocabulary import Agency
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.pipeline import BatchIngestor
from services.common.incoming import Incoming
from services.timeline.adapters.store import TimelineStore
from services.timeline.bootstrap import MIGRATIONS

RESULTS = Path(__file__).resolve().parent / "results"


async def _inline(func, /, *args, **kwargs):
    return func(*args, **kwargs)


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


async def profile_read(backend: str, requests: int, workdir: Path, out: Path, bootstrap: str) -> None:
    import httpx

    from services.timeline.bootstrap import build
    from services.timeline.config import TimelineSettings

    config = BenchConfig()
    db = Database(backend, workdir)
    try:
        target, _ = seed_reads(db.url, config)
        topics = await create_bench_topics(bootstrap, "profile-read")
        settings = TimelineSettings(environment="test", kafka_bootstrap_servers=bootstrap, database_url=db.url,
                                    audit_topic=topics["audit"], datadir=workdir / "faust")
        timeline = build(settings)  # the lifespan is not run: no Faust, no relay; reads need neither
        asyncio.to_thread = _inline  # type: ignore[assignment]
        parent = Actor(practitioner_id="mum-1", agency=Agency.PARENT, role="parent")
        transport = httpx.ASGITransport(app=timeline.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://timeline") as client:
            for actor, children, limit, name in ((parent, [target], 1000, "all-1000"), (SLT, (), 100, "page-100")):
                headers = {"Authorization": f"Bearer {token(actor, children)}"}
                for _ in range(5):
                    (await client.get(f"/children/{target}/timeline", params={"limit": limit}, headers=headers)
                     ).raise_for_status()
                profiler = Profiler(interval=0.0002, async_mode="disabled")
                with profiler:
                    for _ in range(requests):
                        response = await client.get(f"/children/{target}/timeline", params={"limit": limit},
                                                    headers=headers)
                        response.raise_for_status()
                shown = len(response.json()["entries"])
                ms = profiler.last_session.duration / requests * 1000
                _write(profiler, f"read-{name}-{backend}", out,
                       f"GET /children/{{id}}/timeline?limit={limit} ({shown} shown) on {backend}, child with 1,000 "
                       f"entries among 10,000, {requests} requests in process ({ms:.1f} ms each under the profiler)")
        timeline.runtime.engine.dispose()
        await delete_topics(bootstrap, topics.values())
    finally:
        db.drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_timeline", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["ingest", "faust", "read"])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    with tempfile.TemporaryDirectory(prefix="tac-profile-") as tmp:
        workdir = Path(tmp)
        if args.what == "ingest":
            asyncio.run(profile_ingest(args.backend, args.events, args.batch, workdir, args.out))
        elif args.what == "faust":
            asyncio.run(profile_faust(args.events, workdir, args.out, bootstrap))
        else:
            asyncio.run(profile_read(args.backend, args.requests, workdir, args.out, bootstrap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
