"""Readiness that tells the truth: `/ready` answers 503 while the service cannot reach its
database or the broker, or holds a consent partition stuck for longer than it may, naming
which; it answers 200 again by itself once they are back (nothing is cached between probes).

Each check is an async callable returning None when all is well, or why not (a short reason
for the operator: the exception's class, never its message, which may carry addresses or SQL;
the full error goes to the log). Every check runs on each probe, side by side, each bounded by
`timeout_s`, so one dependency that hangs cannot hide the others or hold the probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from services.common.db import database_ready
from services.common.pipeline import BatchIngestor

log = structlog.get_logger(__name__)

Check = Callable[[], Awaitable[str | None]]


class Readiness:
    def __init__(self, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def failing(self) -> dict[str, str]:
        """Each failing dependency and why; empty when ready."""
        results = await asyncio.gather(*(self._run(name, check) for name, check in self._checks.items()))
        return {name: reason for name, reason in results if reason is not None}

    async def _run(self, name: str, check: Check) -> tuple[str, str | None]:
        try:
            return name, await asyncio.wait_for(check(), self.timeout_s)
        except asyncio.TimeoutError:
            return name, f"no answer within {self.timeout_s:g}s"
        except Exception as exc:  # noqa: BLE001 - a failing probe is the answer, not an error
            log.warning("readiness_probe_failed", dependency=name, error=repr(exc))
            return name, type(exc).__name__


class DatabaseProbe:
    """`SELECT 1` through the service's own engine (its pool: no new connection when one is
    idle). The query runs in a worker thread that a timeout cannot stop, so a probe still
    waiting for an unreachable database is joined by the next probes rather than started again:
    probes never pile threads up."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: asyncio.Future | None = None

    async def __call__(self) -> str | None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(asyncio.to_thread(database_ready, self._engine))
        await asyncio.shield(self._pending)
        return None


def broker_probe(producer: Callable[[], AIOKafkaProducer | None]) -> Check:
    """A metadata request on the started producer's own connections (none opened per probe)."""

    async def check() -> str | None:
        started = producer()
        if started is None:
            return "the producer is not started"
        if not await started.client.force_metadata_update():
            return "no broker answered a metadata request"
        return None

    return check


def stuck_consent_probe(ingestors: Iterable[BatchIngestor], *, threshold_s: float) -> Check:
    """Not ready while a consumer has held a partition behind a consent event that does not
    apply for longer than `threshold_s` (consent_apply_stuck_seconds says since when)."""

    async def check() -> str | None:
        held = []
        for ingestor in ingestors:
            longest = ingestor.stuck.longest()
            if longest is not None:
                held.append((longest[1], ingestor.consumer, longest[0]))
        if not held:
            return None
        seconds, consumer, (topic, partition) = max(held)
        if seconds <= threshold_s:
            return None
        return f"{consumer} holds {topic}[{partition}]: a consent event has not applied for {seconds:.0f}s"

    return check
