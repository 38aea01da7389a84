"""How the timeline's SQLite ingest slows as the store grows, and what its WAL checkpoints cost:
the question behind the rebuild (1,000,000 events into an empty store, bench/timeline_bench.py).

    python -m bench.sqlite_growth --events 200000                 # as the services configure it
    python -m bench.sqlite_growth --events 200000 --checkpoints automatic-only
    python -m bench.sqlite_growth --events 200000 --checkpoints background
    python -m bench.sqlite_growth --events 200000 --checkpoints background-truncate
    python -m bench.sqlite_growth --events 200000 --event-ids random   # v4 ids, as before UUIDv7

Envelopes are made in memory (no broker, no parsing) and stored by `TimelineStore.ingest` in
batches of 500 over `events // 100` children, as the rebuild's are; every 50,000 events it
prints the time per event of each stage (bench/profile_timeline.py's `stages` wrappers).

`--checkpoints`:
* `as-configured`: as services.common.db configures it: SQLite's automatic checkpoint in the
  committing thread every 10,000 WAL pages, and PASSIVE ones every 20 ms on a thread of its
  own (_BackgroundCheckpoints), so the automatic one finds little left to copy;
* `automatic-only`: SQLite's automatic checkpoint alone (as configured before the thread);
* `background`: no automatic checkpoint; the bench's own thread runs PASSIVE checkpoints every
  100 ms on a connection of its own. Nothing then restarts the WAL while the writer never pauses: it grows
  without bound (the figures say by how much);
* `background-truncate`: the same, and once the WAL holds 10,000 pages the thread takes the
  writer's turn (services.common.db) and runs a TRUNCATE checkpoint, which bounds it.

`--event-ids`: `as-made` (schemas.envelope.new_event_id, time-ordered) or `random` (UUIDv4, as
events made before ids were time-ordered, and another producer's, may have).

Results: bench/results/sqlite-growth-<date>.md (written by hand from the printed lines).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import event

from bench.profile_timeline import _timing
from bench.timeline_bench import concern_event
from services.common.db import _writer_turns, make_engine, make_session_factory, run_migrations
from services.timeline.adapters.store import TimelineStore
from services.timeline.bootstrap import MIGRATIONS

CHUNK = 50_000
BATCH = 500
TRUNCATE_AT_PAGES = 10_000


class BackgroundCheckpoints:
    def __init__(self, path: Path, *, truncate: bool) -> None:
        self._path, self._truncate = path, truncate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seconds: list[float] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=0.2)
        connection.execute("PRAGMA synchronous=NORMAL")
        turns = _writer_turns(str(self._path))
        while not self._stop.wait(0.1):
            began = time.perf_counter()
            # fetchall: a statement left unfinished would hold a read lock, and the WAL could never restart
            _busy, wal_pages, _done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
            if self._truncate and wal_pages >= TRUNCATE_AT_PAGES:
                with turns._lock:  # no writer of this process between the checkpoint and the truncation
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            self.seconds.append(time.perf_counter() - began)
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_growth", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--checkpoints", choices=["as-configured", "automatic-only", "background",
                                                  "background-truncate"],
                        default="as-configured")
    parser.add_argument("--event-ids", choices=["as-made", "random"], default="as-made",
                        help="the envelopes' ids: as make_envelope makes them (UUIDv7), or random (UUIDv4)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the store goes (default: a temporary folder)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tac-growth-", dir=args.workdir))
    path = workdir / "timeline.db"
    url = f"sqlite:///{path}"
    run_migrations(url, MIGRATIONS)
    engine = make_engine(url, background_checkpoints=args.checkpoints == "as-configured")
    background = None
    if args.checkpoints.startswith("background"):
        event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA wal_autocheckpoint=0"))
        background = BackgroundCheckpoints(path, truncate=args.checkpoints == "background-truncate")
        background.start()
    store = TimelineStore(make_session_factory(engine))
    children = [uuid.uuid4() for _ in range(max(1, args.events // 100))]
    try:
        for first in range(0, args.events, CHUNK):
            envelopes = [concern_event(children[i % len(children)]) for i in range(first, first + CHUNK)]
            if args.event_ids == "random":
                envelopes = [envelope.model_copy(update={"id": uuid.uuid4()}) for envelope in envelopes]
            totals: dict[str, float] = {}
            undo = _timing(totals)
            began = time.perf_counter()
            try:
                for start in range(0, CHUNK, BATCH):
                    store.ingest(envelopes[start:start + BATCH])
            finally:
                seconds = time.perf_counter() - began
                for owner, name, original in undo:
                    setattr(owner, name, original)
            stages = " | ".join(f"{label.strip()} {total / CHUNK * 1e6:.1f}" for label, total in totals.items()
                                if not label.startswith("store"))
            wal_mb = (workdir / "timeline.db-wal").stat().st_size / 1e6
            print(f"{args.checkpoints} {args.event_ids} ids {first + CHUNK:>9,} events: {seconds / CHUNK * 1e6:6.1f} us/event | {stages} "
                  f"| WAL file {wal_mb:,.0f} MB", flush=True)
    finally:
        if background is not None:
            background.stop()
        engine.dispose()
        print(f"{args.checkpoints}: store {path.stat().st_size / 1e6:,.0f} MB (removed with {workdir})")
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
