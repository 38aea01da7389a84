"""`make bench` → `python -m bench.run`: runs the benchmarks against the local broker and
PostgreSQL and writes their results to bench/results/ (Markdown for people, JSON for tools).

    python -m bench.run                 # full scale (a few minutes on 2 cores)
    python -m bench.run --quick         # smaller numbers, to check the harness
    python -m bench.run --backend sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from bench.timeline_bench import BenchConfig, render_markdown, run

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: checks the harness, not the speed")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"],
                        help="store backend(s) to measure (default: both)")
    parser.add_argument("--part", action="append", choices=["ingest", "reads"],
                        help="what to measure (default: both; 'ingest' includes end-to-end latency)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: %(default)s)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    config = BenchConfig()
    if args.quick:
        config = BenchConfig(ingest_events=2_000, ingest_children=100, e2e_seconds=3, read_children=500,
                             read_requests=20)
    if args.backend:
        config.backends = tuple(args.backend)
    if args.part:
        config.parts = tuple(args.part)

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
