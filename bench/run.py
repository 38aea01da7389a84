"""`make bench` → `python -m bench.run`: runs the benchmarks against the local broker and
PostgreSQL and writes their results to bench/results/ (Markdown for people, JSON for tools):
the timeline's (timeline-<date>.*), then the web layer's (web-<date>.*, bench/web_bench.py), then
the notifications ingest's (notifications-<date>.*, bench/notifications_bench.py), then the two
journeys through all four services (journeys-<date>.*, bench/journeys_bench.py).

    python -m bench.run                 # full scale (a few minutes on 2 cores)
    python -m bench.run --quick         # smaller numbers, to check the harness
    python -m bench.run --backend sqlite
    python -m bench.run --part web      # only the web layer's (under 3 minutes)
    python -m bench.run --part notifications --notifications-events 5000   # notifications ingest only
    python -m bench.run --part rebuild --rebuild-events 100000   # a smaller replay
    python -m bench.run --part journeys  # concern → visible, withdrawal and removal from the team → hidden (SQLite unless --backend)
    python -m bench.run --baseline /work/main   # main's timeline measured beside this checkout's
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from bench import journeys_bench, notifications_bench, web_bench
from bench.timeline_bench import BenchConfig, render_markdown, run

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: checks the harness, not the speed")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"],
                        help="store backend(s) to measure (default: both)")
    parser.add_argument("--part", action="append",
                        choices=["ingest", "reads", "rebuild", "web", "notifications", "journeys"],
                        help="what to measure (default: all; 'ingest' includes end-to-end latency, 'web' is the "
                             "child page beside the timeline API, bench/web_bench.py; 'notifications' is the "
                             "notifications service's ingest beside raw getmany, bench/notifications_bench.py; "
                             "'journeys' is concern → visible, withdrawal → hidden and removal from the team → hidden through the four services, "
                             "bench/journeys_bench.py, SQLite only unless --backend is given)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: %(default)s)")
    parser.add_argument("--rebuild-events", type=int, default=None,
                        help="events to replay in the rebuild part (default 1,000,000; --quick 5,000)")
    parser.add_argument("--notifications-events", type=int, default=None,
                        help="events in the notifications part (default 20,000; --quick 2,000)")
    parser.add_argument("--read-requests", type=int, default=None, help="requests per reader in the reads part")
    parser.add_argument("--ingest-turns", type=int, default=None,
                        help="ingests of the topic per checkout, in turns, median reported (default 3; --quick 1)")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="another checkout (say /work/main) whose timeline is measured beside this one's")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    config = BenchConfig()
    if args.quick:
        config = BenchConfig(ingest_events=2_000, ingest_children=100, ingest_turns=1, e2e_seconds=3,
                             e2e_half_max_seconds=2, read_children=500, read_requests=20)
    if args.backend:
        config.backends = tuple(args.backend)
    if args.quick:
        config.rebuild_events = 5_000
    if args.rebuild_events:
        config.rebuild_events = args.rebuild_events
    if args.read_requests:
        config.read_requests = args.read_requests
    if args.ingest_turns:
        config.ingest_turns = args.ingest_turns
    if args.baseline:
        config.baseline_repo = str(args.baseline.resolve())
    parts = tuple(args.part or ("ingest", "reads", "rebuild", "web", "notifications", "journeys"))
    config.parts = tuple(p for p in parts if p not in ("web", "notifications", "journeys"))
    if config.parts:
        _timeline(config, args)
    if "web" in parts:
        web_bench.run_and_write(web_bench.quick_config(config.bootstrap) if args.quick else web_bench.WebBenchConfig(
            bootstrap=config.bootstrap), args.out, quick=args.quick)
    if "notifications" in parts:
        _notifications(config, args)
    if "journeys" in parts:
        journeys = journeys_bench.quick_config(config.bootstrap) if args.quick else journeys_bench.JourneysConfig(
            bootstrap=config.bootstrap)
        if args.backend:
            journeys.backends = tuple(args.backend)
        _write_part("journeys", journeys_bench.run, journeys_bench.render_markdown, journeys, args)
    return 0


def _notifications(config: BenchConfig, args: argparse.Namespace) -> None:
    notif = notifications_bench.NotificationsBenchConfig(bootstrap=config.bootstrap, backends=config.backends)
    if args.quick:
        notif.events, notif.children, notif.subscribed_children = 2_000, 100, 5
    if args.notifications_events:
        notif.events = args.notifications_events
        notif.children = max(10, notif.events // 20)
        notif.subscribed_children = max(1, notif.children // 50)
    _write_part("notifications", notifications_bench.run, notifications_bench.render_markdown, notif, args)


def _write_part(name: str, run_part, render, part_config, args: argparse.Namespace) -> None:
    """Run a part (`run_part(config, workdir, say)` -> results dict) in a scratch folder and write
    <name>-<date>.md (`render(results, machine)`) and .json to the --out folder."""
    machine = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
               "python": platform.python_version(),
               "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    say = lambda text: print(f"bench [load {os.getloadavg()[0]:.1f}]: {text}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="tac-bench-") as workdir:
        results = asyncio.run(run_part(part_config, Path(workdir), say))
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    suffix = "-quick" if args.quick else ""
    md = args.out / f"{name}-{stamp}{suffix}.md"
    js = args.out / f"{name}-{stamp}{suffix}.json"
    md.write_text(render(results, machine))
    js.write_text(json.dumps({"machine": machine, **results}, indent=2, default=str) + "\n")
    print(md.read_text())
    print(f"bench: wrote {md} and {js}")


def _timeline(config: BenchConfig, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tac-bench-") as workdir:
        results = asyncio.run(run(config, Path(workdir)))
    if args.quick:
        results.notes.append("--quick run: numbers are for checking the harness only")

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    suffix = "-quick" if args.quick else ""
    md = args.out / f"timeline-{stamp}{suffix}.md"
    js = args.out / f"timeline-{stamp}{suffix}.json"
    md.write_text(render_markdown(results))
    js.write_text(json.dumps(asdict(results), indent=2) + "\n")
    print(md.read_text())
    print(f"bench: wrote {md} and {js}")


if __name__ == "__main__":
    sys.exit(main())
