"""`make chaos` → `python -m bench.chaos`: the chaos soak of issue 16.

Starts its own Kafka broker and PostgreSQL cluster (under .local/chaos/, on free ports: the
shared ones are never touched), the four services as processes on PostgreSQL (one database
each), an SMTP server and a webhook receiver; sets children up through the APIs, then streams
events straight onto the topics and churns consents and teams through the APIs while it
SIGKILLs each service at random moments and starts it again, hard-bounces the broker (SIGKILL,
start) and restarts PostgreSQL (immediate mode). Then it waits until every consumer group has
committed the end of its topics, every outbox is published and every delivery finished, and
checks (bench/chaos/checks.py) that nothing was lost, doubled or leaked.

    python -m bench.chaos            # the full soak: >= 100,000 events, >= 30 kills of each service
    python -m bench.chaos --quick    # 5,000 events, 3 kills each: checks the harness

Stops by itself within --budget-s (20 minutes by default), prints one summary line, writes
bench/results/chaos-<date>[-quick].md and .json, and exits 1 on any loss, double or leak (2
when the soak itself could not run to the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.chaos import checks
from bench.chaos.driver import WATCHERS, ApiClient, Tally, Workload
from bench.chaos.infra import ChaosBroker, ChaosPostgres
from bench.chaos.services import NAMES, Services, remember_pid, stop_leftovers
from bench.chaos.sinks import Receivers
from bench.chaos.report import render_markdown, summary_line
from demo.stack import ROOT

WORKDIR = ROOT / ".local" / "chaos"
RESULTS = Path(__file__).resolve().parents[1] / "results"
MIN_LIFE_S = 2.0


@dataclass
class Scale:
    events: int = 100_000
    children: int = 500
    watched: int = 30
    drive_s: float = 600.0
    kills_each: int = 30
    broker_bounces: int = 3
    churn_per_s: float = 12.0
    budget_s: float = 1200.0


QUICK = Scale(events=5_000, children=100, watched=5, drive_s=90.0, kills_each=3, broker_bounces=1, churn_per_s=6.0,
              budget_s=600.0)


@dataclass
class Run:
    scale: Scale
    seed: int
    started_at: str = ""
    phases: dict[str, float] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)
    kills_when_ready: dict[str, int] = field(default_factory=dict)  # /ready answered 200 just before
    unasked_exits: dict[str, list[str]] = field(default_factory=dict)
    broker_bounces: list[float] = field(default_factory=list)  # seconds down
    pg_restarts: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    api_failures: int = 0
    api_refused: dict[str, int] = field(default_factory=dict)
    settled: bool = False
    settle_state: dict[str, int] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    events: int = 0
    lost: int = 0
    doubled: int = 0
    leaked: int = 0
    error: str | None = None


class Chaos:
    """Kills and bounces while the workload runs."""

    def __init__(self, services: Services, broker: ChaosBroker, pg: ChaosPostgres, run: Run, rng: random.Random):
        self.services, self.broker, self.pg, self.run, self.rng = services, broker, pg, run, rng
        self.broker_down = asyncio.Event()

    async def monkey(self, name: str) -> None:
        """`kills_each` SIGKILLs at random moments of the drive, one in each of as many equal
        slots (so they spread over it), then a restart at once. A moment finds the service in
        whatever part of its life it is in: starting, migrating, joining its group, consuming,
        relaying, delivering. Never within `MIN_LIFE_S` of its start, so each life does begin."""
        s = self.services.by_name[name]
        k, span = self.run.scale.kills_each, self.run.scale.drive_s
        started = time.monotonic()
        for i in range(k):
            moment = started + span * (i + self.rng.random()) / k
            while time.monotonic() < moment or time.monotonic() - s.started_at < MIN_LIFE_S:
                await asyncio.to_thread(s.restart_if_exited)
                await asyncio.sleep(0.2)
            if await asyncio.to_thread(s.ready, 0.5):
                self.run.kills_when_ready[name] = self.run.kills_when_ready.get(name, 0) + 1
            await asyncio.to_thread(s.kill_and_start)

    async def bounces(self) -> None:
        scale = self.run.scale
        plan = sorted([(scale.drive_s * (i + 1) / (scale.broker_bounces + 1), "broker")
                       for i in range(scale.broker_bounces)] + [(scale.drive_s * 0.5 + 7, "pg")])
        started = time.monotonic()
        for moment, what in plan:
            await asyncio.sleep(max(0.0, started + moment + self.rng.uniform(-5, 5) - time.monotonic()))
            if what == "broker":
                down = self.rng.uniform(1, 6)
                await asyncio.to_thread(self.broker.kill)
                await asyncio.sleep(down)
                await asyncio.to_thread(self.broker.start, 120)
                self.run.broker_bounces.append(round(down, 1))
            else:
                await asyncio.to_thread(self.pg.restart)
                self.run.pg_restarts += 1


async def drive(run: Run, services: Services, broker: ChaosBroker, pg: ChaosPostgres, receivers: Receivers,
                rng: random.Random, tally: Tally, direct_ids: set[str], log) -> Workload:
    api = ApiClient(services.urls, tally)
    workload = Workload(api, receivers.webhook_url, rng)
    t0 = time.monotonic()
    await workload.subscribe_watchers()
    await workload.set_up_children(run.scale.children, run.scale.watched)
    run.phases["set up children"] = round(time.monotonic() - t0, 1)
    log(f"{len(workload.children)} children set up in {run.phases['set up children']}s; driving "
        f"{run.scale.events} events over {run.scale.drive_s:.0f}s with kills")

    chaos = Chaos(services, broker, pg, run, rng)
    stop_churn = asyncio.Event()
    monkeys = [asyncio.create_task(chaos.monkey(name)) for name in NAMES]
    progress = asyncio.create_task(_progress(run, services, tally, log))
    watchdog = asyncio.create_task(_watchdog(services))
    bounces = asyncio.create_task(chaos.bounces())
    churn = asyncio.create_task(workload.churn(stop_churn, run.scale.churn_per_s))
    original = workload.direct_event

    def recorded():
        envelope = original()
        direct_ids.add(str(envelope.id))
        return envelope

    workload.direct_event = recorded  # type: ignore[method-assign]
    t1 = time.monotonic()
    try:
        await workload.stream(broker.bootstrap, run.scale.events, run.scale.drive_s, tally)
        await bounces
        await asyncio.gather(*monkeys)
        stop_churn.set()
        await churn
    finally:
        for task in (*monkeys, bounces, churn, progress, watchdog):
            task.cancel()
        await api.close()
    run.phases["drive with chaos"] = round(time.monotonic() - t1, 1)
    return workload


async def _watchdog(services: Services) -> None:
    """A service that exits by itself (its broker or database gone at start) is started again,
    and the exit recorded."""
    while True:
        for s in services.by_name.values():
            await asyncio.to_thread(s.restart_if_exited)
        await asyncio.sleep(1)


async def _progress(run: Run, services: Services, tally: Tally, log) -> None:
    while True:
        await asyncio.sleep(30)
        log(f"direct {tally.direct}, API calls {sum(tally.api_calls.values())}, kills "
            + " ".join(f"{n}={s.kills}" for n, s in services.by_name.items())
            + f", broker bounces {len(run.broker_bounces)}, PostgreSQL restarts {run.pg_restarts}")


def settle(run: Run, services: Services, bootstrap: str, urls: dict[str, str], deadline: float, log) -> None:
    """Until every group's lag is 0, every outbox published, every delivery finished — twice
    in a row, a few seconds apart (a job can be made by the last events consumed)."""
    t0 = time.monotonic()
    calm = 0
    last_said = t0
    state: dict[str, int] = {}
    while time.monotonic() < deadline:
        for s in services.by_name.values():
            s.restart_if_exited()
        try:
            state = {f"lag {g}": n for g, n in asyncio.run(checks.group_lag(bootstrap)).items()}
            state.update(checks.pending_work(urls))
        except Exception as exc:  # noqa: BLE001 - a store or the broker still recovering
            state = {"error": 1}
            log(f"settle: {exc!r}")
        calm = calm + 1 if not any(state.values()) else 0
        if time.monotonic() - last_said > 20:
            log(f"settling: {state}")
            last_said = time.monotonic()
        if calm >= 2:
            run.settled = True
            break
        time.sleep(4)
    run.settle_state = state
    run.phases["settle"] = round(time.monotonic() - t0, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events, 3 kills of each service, 1 broker bounce")
    parser.add_argument("--events", type=int, help="events straight onto the topics (the APIs add more)")
    parser.add_argument("--kills", type=int, help="SIGKILLs of each service, at least")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    scale = Scale() if not args.quick else QUICK
    if args.events:
        scale.events = args.events
    if args.kills:
        scale.kills_each = args.kills
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    started = time.monotonic()
    deadline = started + scale.budget_s

    def log(line: str) -> None:
        print(f"chaos [{time.monotonic() - started:6.0f}s] {line}", flush=True)

    run = Run(scale, seed, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    # SIGTERM (a `timeout`, a CI runner) stops everything as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    leftovers = stop_leftovers(WORKDIR)
    if leftovers:
        log(f"stopped what an interrupted run had left running: {', '.join(leftovers)}")
    rng = random.Random(seed)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    for old in ("logs", "data", "broker"):
        shutil.rmtree(WORKDIR / old, ignore_errors=True)
    pg = ChaosPostgres(WORKDIR / "pg")
    pg.stop()  # a cluster an interrupted run left running
    receivers = Receivers()
    broker: ChaosBroker | None = None
    services: Services | None = None
    tally, direct_ids = Tally(), set()
    workload = None
    try:
        log(f"seed {seed}; PostgreSQL and the broker under {WORKDIR}")
        pg.init()
        pg.start()
        urls = {name: pg.url(f"chaos_{name}") for name in NAMES}
        pg.create_databases([f"chaos_{name}" for name in NAMES])
        broker = ChaosBroker(WORKDIR / "broker")
        broker.start(120)
        remember_pid(WORKDIR, "broker", broker._process.pid)
        broker.provision()
        receivers.start()
        services = Services(WORKDIR, broker.bootstrap, urls, receivers.smtp_port)
        (WORKDIR / "data").mkdir(exist_ok=True)
        services.start()
        services.wait_ready()
        run.phases["start"] = round(time.monotonic() - started, 1)
        log(f"broker {broker.bootstrap}, PostgreSQL 127.0.0.1:{pg.port}, services up: "
            + ", ".join(f"{n} {u}" for n, u in services.urls.items()))
        workload = asyncio.run(drive(run, services, broker, pg, receivers, rng, tally, direct_ids, log))
        log(f"drive done: {tally.direct} direct events, API calls {sum(tally.api_calls.values())}; settling")
        settle(run, services, broker.bootstrap, urls, deadline - 90, log)
        log(f"settled={run.settled} {run.settle_state}; stopping the services, checking")
        # Nothing may change while the stores, the topics and the receivers are read one after
        # the other (a service still delivering would be read as having sent what the receivers
        # had not yet got when they were read).
        run.kills = {name: s.kills for name, s in services.by_name.items()}
        services.stop()
        t0 = time.monotonic()
        read = checks.read_everything(broker.bootstrap)
        parents = {ch.parent.key: (str(ch.child_id), ch.subscribed_at) for ch in workload.children
                   if ch.watched and ch.subscribed_at}
        checker = checks.Checker(read, urls, direct_ids, receivers.mails(), receivers.webhooks(), parents,
                                 {p.key: p.agency for p in WATCHERS})
        findings = checker.run()
        run.phases["check"] = round(time.monotonic() - t0, 1)
        run.findings = [asdict(f) for f in findings]
        run.events = findings[0].figures.get("events", 0)
        run.lost = sum(f.lost for f in findings)
        run.doubled = sum(f.doubled for f in findings)
        run.leaked = sum(f.leaked for f in findings)
    except Exception as exc:  # noqa: BLE001 - reported, and the soak fails
        run.error = f"{type(exc).__name__}: {exc}"
        log(f"failed: {run.error}")
        traceback.print_exc()
    except KeyboardInterrupt:
        run.error = "interrupted"
    finally:
        if services is not None:
            run.kills = {name: s.kills for name, s in services.by_name.items()}
            run.unasked_exits = {name: s.exits for name, s in services.by_name.items() if s.exits}
            services.stop()
        run.api_calls, run.api_failures, run.api_refused = dict(tally.api_calls), tally.api_failures, tally.refused
        receivers.stop()
        if broker is not None:
            broker.stop()
        (WORKDIR / "pids.json").unlink(missing_ok=True)
        pg.stop()
    run.phases["total"] = round(time.monotonic() - started, 1)
    line = summary_line(run)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
    (args.out / f"chaos-{stamp}.json").write_text(json.dumps(asdict(run), indent=2, default=str) + "\n")
    (args.out / f"chaos-{stamp}.md").write_text(render_markdown(run, line))
    print(line)
    if run.error:
        return 2
    # Not settled within the budget: what was consumed was checked, the rest could not be.
    return 1 if (run.lost or run.doubled or run.leaked or not run.settled) else 0


if __name__ == "__main__":
    sys.exit(main())
