"""What every benchmark here needs: fresh topics on the real broker, a free port, percentiles
and ratios (the same definitions for every figure, so figures from one run compare), and the
services as processes on a run's own topics and groups."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Engine
from sqlalchemy.sql import Executable

from demo.stack import ServiceProcess, Stack

API_NAMES = ("referrals", "consent", "timeline", "notifications")
TOPIC_KINDS = ("referrals", "consent", "audit", "notifications", "deadletter")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks (numpy's
    default, Excel's PERCENTILE.INC). `values` need not be sorted."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def next_poll_s(waited_s: float, interval_s: float, backoff: float) -> float:
    """How long a reader polling the timeline for something to show waits before its next read:
    the longer of `interval_s` and `backoff` times what it has waited so far. Every read is a
    write (access log, outbox), so readers polling at a fixed 10 ms made their own load set the
    latency once it passed 100 ms; backing off keeps a figure within `interval_s` below
    interval_s / backoff and within `backoff` of itself beyond, at a bounded read rate."""
    return max(interval_s, backoff * waited_s)


async def until_stored(engine: Engine, query: Executable, *, interval_s: float, deadline: float, what: str) -> None:
    """Until `query`, a SELECT on a service's store, finds a row: asked every `interval_s`, read-
    only, until `time.monotonic()` passes `deadline`.

    A reader that waits for an entry waits here before it reads through the timeline API. Such a
    read costs the service next to nothing, where each read through the API is a write (access
    log, outbox) and the dearest request the service serves. Reading the API alone from the
    moment the concern was sent, the journeys' reader read each concern about twice (1.9-2.1
    times), the first read beside the POST, and on two cores already busy with four services
    that load set much of what it measured: concern -> visible p50 262-405 ms in four runs on
    2026-12-03, of two checkouts alike; watching the store first, one read each, 75-128 ms
    (bench/results/journeys-2026-12-03-*). `engine`: a plain one (create_engine), so that no
    writer's turn is taken (services.common.db) and no transaction outlives the SELECT."""

    def found() -> bool:
        with engine.connect() as connection:
            return connection.execute(query).first() is not None

    while not await asyncio.to_thread(found):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not stored in time")
        await asyncio.sleep(interval_s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def create_topics(bootstrap: str, names: list[str], *, partitions: int = 6,
                        configs: dict[str, str] | None = None) -> None:
    """Create the topics (with topic-level `configs`, if any) and wait until each partition has a
    leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tac-bench")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1, topic_configs=configs or {}) for n in names])
        for _ in range(100):
            described = await admin.describe_topics(names)
            if all(t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
                   for t in described):
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tac-bench")
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


def bench_stack(workdir: Path, bootstrap: str, topics: dict[str, str], group: str, *, web: bool = False,
                extra_env: dict[str, str] | None = None) -> Stack:
    """The four APIs (and the web, if asked), each on a free port, on this run's own topics
    (`topics`: TOPIC_KINDS -> name) and consumer groups (prefixed `bench-<group>`). `extra_env`
    is added last: a service's own TAC_<NAME>_DATABASE_URL, a log level, ..."""
    services = tuple(ServiceProcess(name, free_port()) for name in (*API_NAMES, *(("web",) if web else ())))
    env = {"TAC_LOG_LEVEL": "WARNING"}
    inputs = {
        "REFERRALS": ("referrals", "consent", "deadletter"),
        "CONSENT": ("consent", "referrals", "deadletter"),
        "TIMELINE": ("referrals", "consent", "audit", "deadletter"),
        "NOTIFICATIONS": ("referrals", "consent", "notifications", "deadletter"),
    }
    for service, kinds in inputs.items():
        env.update({f"TAC_{service}_{kind.upper()}_TOPIC": topics[kind] for kind in kinds})
    env.update(extra_env or {})
    return Stack(workdir, kafka_bootstrap=bootstrap, services=services, extra_env=env, group_prefix=f"bench-{group}")
