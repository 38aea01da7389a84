"""Where the notifications ingest's time goes: a pyinstrument profile of the service's own
ingestor (`bootstrap.build(settings).intake`: parse, claim, handler table, the units of work
bootstrap chose) applying the bench's stream (bench/notifications_bench.py) in batches, in one
process, written as text to bench/results/profile-notifications-ingest-<backend>-<label>.txt.

    python -m bench.profile_notifications --backend postgresql --label before

As in bench/profile_timeline.py, `asyncio.to_thread` runs its function inline, so the database
work shows in the one thread pyinstrument samples. No broker: the messages are made in memory,
so this says where the time goes; the bench measures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from pyinstrument import Profiler

from bench.notifications_bench import NotificationsBenchConfig, seed, stream, subscribers
from bench.timeline_bench import Database
from schemas.topics import CONSENT, REFERRALS
from services.common.incoming import Incoming
from services.notifications.bootstrap import build
from services.notifications.config import NotificationsSettings

RESULTS = Path(__file__).resolve().parent / "results"


async def _inline(func, /, *args, **kwargs):
    return func(*args, **kwargs)


async def profile(backend: str, events: int, batch: int, label: str, out: Path) -> None:
    config = NotificationsBenchConfig(events=events, children=max(10, events // 20),
                                      subscribed_children=max(1, events // 1000))
    referrals, consent, subscribed = stream(config)
    messages = []
    for topic, envelopes in ((REFERRALS, referrals), (CONSENT, consent)):
        messages += [Incoming(value=e.to_json_bytes(), key=e.key, topic=topic.name, partition=i % 6, offset=i,
                              source=topic) for i, e in enumerate(envelopes)]
    # Consent first for each child as often as not: interleave the two topics as a fetch would.
    messages.sort(key=lambda m: (m.offset // 50, m.topic))
    with tempfile.TemporaryDirectory(prefix="tac-prof-") as workdir:
        db = Database(backend, Path(workdir))
        try:
            seed(db.url, subscribers(subscribed))
            settings = NotificationsSettings(environment="test", database_url=db.url, run_migrations=False,
                                             smtp_host="127.0.0.1", external_hold_s=3600,
                                             datadir=Path(workdir) / "faust")
            service = build(settings)
            asyncio.to_thread = _inline  # type: ignore[assignment]
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            started = time.perf_counter()
            with profiler:
                for start in range(0, len(messages), batch):
                    await service.intake.ingest(messages[start:start + batch])
            seconds = time.perf_counter() - started
            assert service.intake.applied == len(messages), service.intake.stats
            service.runtime.engine.dispose()
        finally:
            db.drop()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"profile-notifications-ingest-{backend}-{label}.txt"
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    path.write_text(f"notifications ingest, in process ({label}): {len(messages):,} events in batches of {batch} "
                    f"through bootstrap.build(settings).intake into {backend} "
                    f"({len(messages) / seconds:,.0f} events/s under the profiler)\n"
                    f"load average at end: {[round(x, 2) for x in os.getloadavg()]}\n\n{text}")
    print(f"profile: wrote {path} ({len(messages) / seconds:,.0f} events/s under the profiler)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_notifications")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--label", default="now")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    asyncio.run(profile(args.backend, args.events, args.batch, args.label, args.out))


if __name__ == "__main__":
    main()
