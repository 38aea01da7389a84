"""What the web layer costs: the child page's server time beside the timeline API's own time for
the same read (issue 12).

The four services and the web interface run as real processes (demo.stack.Stack, development
mode, SQLite stores, fresh Kafka topics and consumer groups of their own, free ports on
127.0.0.1, a work dir under .local/bench/). Through the real APIs only: the setting's SENCO
(Priya, development sign-in on the web) registers a child and raises concerns until the timeline
API shows her exactly 200 entries for that child. Then, after a warm-up, N rounds of sequential
reads from a local client, one of each per round (interleaved, so drifting load on the machine
touches all alike):

* web       `GET /children/{id}` with the session cookie: the child page (it asks at once for
            referrals' `GET /children/{id}`, the timeline with limit=1000 and the referrals
            waiting for her organisation's answer, with the notifications inbox for the header's
            unread count asked for from the start beside them, then renders 200 rows);
* timeline  `GET /children/{id}/timeline?limit=200` with the same access token (taken from the
            web's own session cookie), the figure the ratio is against;
* referrals `GET /children/{id}` and notifications `GET /inbox?unread_only=true&limit=200`, the
            page's two other API calls, so the page's time splits into API calls and the web's
            own work.

Server time = wall time of the request as the local client sees it (connection kept alive). The
`Server-Timing` header is recorded when the web sends one.

    .venv/bin/python -m bench.web_bench            # writes bench/results/web-<date>.md/.json
    .venv/bin/python -m bench.web_bench --quick    # 20 rounds, to check the harness

Longer than the project's modules usually are, on purpose: one experiment read top to bottom
(stack, seeding, interleaved rounds, report); what benchmarks share is in bench/common.py.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from bench.common import API_NAMES, TOPIC_KINDS, bench_stack, create_topics, delete_topics, percentile, ratio
from services.common.kafka_admin import wait_for_broker

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
WORK_ROOT = REPO / ".local" / "bench"
SESSION_COOKIE = "tac_session"  # services/web/bootstrap.py
PERSON = "priya-shah"  # Priya Shah, SENCO at Sunflower Nursery (SCENARIO.md)


@dataclass
class WebBenchConfig:
    bootstrap: str = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    entries: int = 200  # visible to the reader on the child's timeline
    rounds: int = 150  # measured rounds (one read of each kind per round)
    warmup_rounds: int = 10
    ready_timeout_s: float = 90
    seed_timeout_s: float = 60
    budget_s: float = 170  # the whole benchmark; measuring stops early (noted) past it


# -- statistics -------------------------------------------------------------------------------


@dataclass
class Timing:
    samples: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> "Timing":
        ms = [s * 1000 for s in seconds]
        return cls(len(ms), round(percentile(ms, 50), 1), round(percentile(ms, 95), 1),
                   round(statistics.fmean(ms), 1), round(min(ms), 1), round(max(ms), 1))


def parse_server_timing(header: str) -> dict[str, float]:
    """`Server-Timing: api;dur=12.3, render;dur=4` -> {"api": 12.3, "render": 4.0} (metrics
    without a dur are left out)."""
    found: dict[str, float] = {}
    for metric in header.split(","):
        parts = [p.strip() for p in metric.split(";")]
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "dur":
                try:
                    found[parts[0]] = float(value.strip().strip('"'))
                except ValueError:
                    pass
    return found


@dataclass
class WebResults:
    started_at: str
    machine: dict[str, Any]
    config: dict[str, Any]
    child_entries: int = 0
    seeding: dict[str, Any] = field(default_factory=dict)
    reads: dict[str, Any] = field(default_factory=dict)
    server_timing: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- the stack ----------------------------------------------------------------------------------


async def _prepare_topics(bootstrap: str, names: list[str]) -> None:
    await wait_for_broker(bootstrap, timeout_s=60)
    await create_topics(bootstrap, names)


def session_token(cookie: str) -> str:
    """The access token in the web's session cookie (Starlette's SessionMiddleware: base64 JSON,
    then the timestamp and signature): the very token the web calls the APIs with."""
    payload = cookie.split(".", 1)[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return str(data["person"]["token"])


def sign_in(web: httpx.Client, person: str) -> str:
    """Development sign-in as `person`; the session cookie stays in `web`'s jar. Returns the
    access token it holds."""
    form = web.get("/sign-in")
    form.raise_for_status()
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if not found:
        raise RuntimeError("no CSRF field on /sign-in")
    answer = web.post("/sign-in", data={"person": person, "csrf_token": found.group(1)})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in as {person} answered {answer.status_code}")
    return session_token(web.cookies[SESSION_COOKIE])


def visible_entries(timeline: httpx.Client, child_id: str) -> int:
    response = timeline.get(f"/children/{child_id}/timeline", params={"limit": 1000})
    if response.status_code == 404:  # the registration not ingested yet
        return 0
    response.raise_for_status()
    return len(response.json()["entries"])


def wait_for_entries(timeline: httpx.Client, child_id: str, wanted: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = visible_entries(timeline, child_id)
        if seen >= wanted or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def seed(apis: dict[str, httpx.Client], config: WebBenchConfig) -> tuple[str, dict[str, Any]]:
    """A child of Priya's setting, and concerns until she sees `config.entries` entries."""
    started = time.perf_counter()
    today = date.today()
    child = apis["referrals"].post("/children", json={
        "given_name": "Bench", "family_name": "Child",
        "date_of_birth": today.replace(year=today.year - 2, day=min(today.day, 28)).isoformat()})
    child.raise_for_status()
    child_id = str(child.json()["child_id"])
    # The registration is itself an entry the setting sees: wait for it, then top up.
    first = wait_for_entries(apis["timeline"], child_id, 1, config.seed_timeout_s)
    if first < 1:
        raise RuntimeError("the child's registration never reached the timeline")
    concerns = config.entries - first
    posted_at = time.perf_counter()
    for i in range(concerns):
        response = apis["referrals"].post(f"/children/{child_id}/concerns", json={
            "areas_of_need": ["communication_and_interaction"],
            "summary": f"Benchmark concern {i + 1}: uses few words; key person noticed at 26 months"})
        response.raise_for_status()
    posted_s = time.perf_counter() - posted_at
    seen = wait_for_entries(apis["timeline"], child_id, config.entries, config.seed_timeout_s)
    if seen != config.entries:
        raise RuntimeError(f"the timeline shows {seen} entries, not {config.entries}")
    return child_id, {"concerns_posted": concerns, "post_concerns_s": round(posted_s, 1),
                      "seed_total_s": round(time.perf_counter() - started, 1)}


# -- the measurement ------------------------------------------------------------------------


def measure(web: httpx.Client, apis: dict[str, httpx.Client], child_id: str, config: WebBenchConfig,
            deadline: float, results: WebResults) -> None:
    reads = {
        "web_child_page": lambda: web.get(f"/children/{child_id}"),
        "timeline_api": lambda: apis["timeline"].get(f"/children/{child_id}/timeline",
                                                     params={"limit": config.entries}),
        "referrals_child_api": lambda: apis["referrals"].get(f"/children/{child_id}"),
        "notifications_unread_api": lambda: apis["notifications"].get(
            "/inbox", params={"unread_only": "true", "limit": 200}),
    }
    timings: dict[str, list[float]] = {name: [] for name in reads}
    server_timing: dict[str, list[float]] = {}
    rounds = 0
    for i in range(config.warmup_rounds + config.rounds):
        if time.monotonic() > deadline:
            results.notes.append(f"time budget reached: {rounds} of {config.rounds} rounds measured")
            break
        for name, read in reads.items():
            started = time.perf_counter()
            response = read()
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{name} answered {response.status_code}")
            if i < config.warmup_rounds:
                continue
            timings[name].append(elapsed)
            if name == "web_child_page" and (header := response.headers.get("server-timing")):
                metrics = parse_server_timing(header)
                if "app" in metrics and "api" in metrics:
                    metrics["app_minus_api"] = metrics["app"] - metrics["api"]
                for metric, ms in metrics.items():
                    server_timing.setdefault(metric, []).append(ms / 1000)
        if i == 0:  # the page shows what the API shows
            page = reads["web_child_page"]().text
            if f"{config.entries} entries you can see" not in page:
                raise RuntimeError(f"the child page does not say '{config.entries} entries you can see'")
            shown = len(reads["timeline_api"]().json()["entries"])
            if shown != config.entries:
                raise RuntimeError(f"the timeline API shows {shown} entries, not {config.entries}")
        if i >= config.warmup_rounds:
            rounds += 1
    results.reads = {name: asdict(Timing.of(values)) for name, values in timings.items()}
    results.server_timing = {metric: asdict(Timing.of(values)) for metric, values in server_timing.items()}
    web_t, api_t = results.reads["web_child_page"], results.reads["timeline_api"]
    results.ratios = {"p50_web_over_timeline": ratio(web_t["p50_ms"], api_t["p50_ms"]),
                      "p95_web_over_timeline": ratio(web_t["p95_ms"], api_t["p95_ms"])}
    api_p50_sum = sum(results.reads[n]["p50_ms"] for n in ("timeline_api", "referrals_child_api",
                                                            "notifications_unread_api"))
    results.ratios["p50_web_over_sum_of_its_api_calls"] = ratio(web_t["p50_ms"], api_p50_sum)
    results.ratios["p50_web_minus_sum_of_its_api_calls_ms"] = round(web_t["p50_ms"] - api_p50_sum, 1)


def run(config: WebBenchConfig, workdir: Path) -> WebResults:
    t0 = time.monotonic()
    deadline = t0 + config.budget_s
    say = lambda text: print(f"bench (web): {text}", flush=True)  # noqa: E731
    results = WebResults(
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                 "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        config=asdict(config),
    )
    suffix = uuid.uuid4().hex[:10]
    topics = {kind: f"bench.web.{kind}.{suffix}" for kind in TOPIC_KINDS}
    asyncio.run(_prepare_topics(config.bootstrap, list(topics.values())))
    stack = bench_stack(workdir, config.bootstrap, topics, f"web-{suffix}", web=True,
                        extra_env={"TAC_WEB_SERVER_TIMING": "true"})
    try:
        stack.start()
        stack.wait_until_ready(config.ready_timeout_s)
        say(f"stack ready in {time.monotonic() - t0:.1f}s: " + ", ".join(f"{s.name} {s.port}" for s in stack.services))
        timeout = httpx.Timeout(30)
        with httpx.Client(base_url=stack.url_of("web"), timeout=timeout) as web:
            token = sign_in(web, PERSON)
            headers = {"Authorization": f"Bearer {token}"}
            apis = {name: httpx.Client(base_url=stack.url_of(name), headers=headers, timeout=timeout)
                    for name in API_NAMES}
            try:
                child_id, results.seeding = seed(apis, config)
                results.child_entries = config.entries
                say(f"child with {config.entries} entries visible to {PERSON} "
                    f"({results.seeding['concerns_posted']} concerns posted in {results.seeding['post_concerns_s']}s)")
                measure(web, apis, child_id, config, deadline, results)
            finally:
                for client in apis.values():
                    client.close()
    finally:
        stack.stop()
        try:
            asyncio.run(delete_topics(config.bootstrap, list(topics.values())))
        except Exception as e:  # noqa: BLE001 - the figures stand; say so
            results.notes.append(f"could not delete the bench topics: {type(e).__name__}")
    results.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results.machine["wall_time_s"] = round(time.monotonic() - t0, 1)
    web_t, api_t = results.reads["web_child_page"], results.reads["timeline_api"]
    say(f"child page p50 {web_t['p50_ms']} ms p95 {web_t['p95_ms']} ms; timeline API p50 {api_t['p50_ms']} ms "
        f"p95 {api_t['p95_ms']} ms; web/API p50 {results.ratios['p50_web_over_timeline']} "
        f"p95 {results.ratios['p95_web_over_timeline']}")
    return results


LABELS = {
    "web_child_page": "web: child page `GET /children/{id}` (session cookie)",
    "timeline_api": "timeline API `GET /children/{id}/timeline?limit=200` (same token)",
    "referrals_child_api": "referrals API `GET /children/{id}` (the page's first call)",
    "notifications_unread_api": "notifications API `GET /inbox?unread_only=true&limit=200` (the header's count)",
}


def render_markdown(results: WebResults) -> str:
    cfg, m, reads, ratios = results.config, results.machine, results.reads, results.ratios
    lines = [
        f"# Web layer benchmark — {results.started_at}",
        "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, {m['platform']}. The four services and the web run as "
        "real processes (`demo.stack.Stack`, development mode, SQLite stores, Kafka single node, fresh topics), "
        "client, services and broker sharing the CPUs on 127.0.0.1 (load average 1/5/15 min at start "
        f"{m['load_average_at_start']}, at end {m.get('load_average_at_end')}; whole run {m.get('wall_time_s')} s).",
        "Produced by `make bench` (`python -m bench.run`) or `python -m bench.web_bench`.",
        "",
        f"## The child page for a child with {results.child_entries} visible entries, beside the timeline API",
        "",
        f"Priya (the setting's SENCO, development sign-in) reads the page of a child her setting registered and "
        f"raised {results.seeding.get('concerns_posted')} concerns about through the referrals API "
        f"({results.child_entries} timeline entries with the {results.child_entries - results.seeding.get('concerns_posted', 0)} "
        f"the registration itself gives). {reads['web_child_page']['samples']} "
        f"rounds after {cfg['warmup_rounds']} warm-up, each one sequential read of every row below "
        "(interleaved), from a local httpx client with keep-alive; time = the request's wall time at the client. "
        "Each timeline read also writes its access-log row and TimelineViewed outbox row, the page's included.",
        "",
        "| read | p50 ms | p95 ms | mean ms | min ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in LABELS.items():
        x = reads[key]
        lines.append(f"| {label} | {x['p50_ms']} | {x['p95_ms']} | {x['mean_ms']} | {x['min_ms']} | {x['max_ms']} |")
    lines += [
        "",
        f"**Web / timeline API: p50 ×{ratios['p50_web_over_timeline']}, p95 ×{ratios['p95_web_over_timeline']}.**",
        "",
        "The page asks at once for referrals' child, the timeline with limit=1000 (200 entries here) and the "
        "referrals waiting for her organisation's answer, with the inbox for the unread count beside them from the "
        "start, then renders 200 rows with the reason each is visible: it waits for the slowest call, not the sum. "
        f"Its p50 is ×{ratios['p50_web_over_sum_of_its_api_calls']} the sum of the p50s of three of those calls "
        f"made directly (a difference of {ratios['p50_web_minus_sum_of_its_api_calls_ms']} ms); how the "
        "page's own time splits between waiting on the APIs and the web's work, measured inside the web, is "
        "below when the web sends `Server-Timing`.",
    ]
    if results.server_timing:
        words = {"app": "app: request in to response headers out, inside the web process",
                 "api": "api: waiting on the APIs (counted once while calls overlap)",
                 "app_minus_api": "app − api: the web's own work (session, wording, Jinja rendering), and its waits "
                                  "for a CPU while no call is in flight"}
        lines += ["", "The child page's `Server-Timing` header (`TAC_WEB_SERVER_TIMING=true`), per request:", "",
                  "| metric | p50 ms | p95 ms | mean ms |", "|---|---:|---:|---:|"]
        for metric, x in results.server_timing.items():
            lines.append(f"| {words.get(metric, metric)} | {x['p50_ms']} | {x['p95_ms']} | {x['mean_ms']} |")
    else:
        lines += ["", "The web sends no `Server-Timing` header yet: times are the client's."]
    lines += ["", f"Seeding through the APIs: {results.seeding.get('concerns_posted')} `POST /children/{{id}}/concerns` "
              f"in {results.seeding.get('post_concerns_s')} s; child registered to all {results.child_entries} entries "
              f"visible in {results.seeding.get('seed_total_s')} s."]
    if results.notes:
        lines += ["", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"


def write_results(results: WebResults, out: Path, *, quick: bool = False) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    suffix = "-quick" if quick else ""
    md, js = out / f"web-{stamp}{suffix}.md", out / f"web-{stamp}{suffix}.json"
    md.write_text(render_markdown(results))
    js.write_text(json.dumps(asdict(results), indent=2) + "\n")
    return md, js


def run_and_write(config: WebBenchConfig, out: Path = RESULTS, *, quick: bool = False) -> tuple[Path, Path]:
    """Runs the benchmark in a fresh work dir under .local/bench/ (kept, with the services'
    logs, if it fails) and writes its results."""
    workdir = WORK_ROOT / f"web-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = run(config, workdir)
    except BaseException:
        print(f"bench (web): failed; the services' logs are in {workdir / 'logs'}", file=sys.stderr, flush=True)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    if quick:
        results.notes.append("--quick run: numbers are for checking the harness only")
    md, js = write_results(results, out, quick=quick)
    print(md.read_text())
    print(f"bench: wrote {md} and {js}")
    return md, js


def quick_config(bootstrap: str | None = None) -> WebBenchConfig:
    config = WebBenchConfig(rounds=20, warmup_rounds=3)
    if bootstrap:
        config.bootstrap = bootstrap
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds: checks the harness, not the speed")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: %(default)s)")
    args = parser.parse_args(argv)
    run_and_write(quick_config() if args.quick else WebBenchConfig(), args.out, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
