"""The process's heap after start-up, kept out of the garbage collector's full collections.

Everything alive once a service has started (imported modules, contract models and their
validators, SQLAlchemy's tables and compiled statements, the organisation directory) lives as
long as the process. CPython's full (generation 2) collection walks every tracked object, so
each one it ran paused the event loop for as long as walking that heap takes: a timeline read
of 1,000 entries, which allocates enough to trigger one every few reads, met 15 of them in
200 reads, up to 127 ms (SQLite) and 140 ms (PostgreSQL) each, and they made its p99 (153 and
166 ms); frozen, the longest took under 1 ms and the p99 was 45 and 68 ms
(bench/results/gc-pauses-2026-12-02-*.md). `gc.freeze()` exists for this ("to speed up
collection", Python's gc docs): frozen objects sit in a permanent generation that no
collection walks. They are still freed by reference counting; only a cycle among them would
stay until exit, and a start-up heap's cycles live that long anyway.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)


def freeze_start_up_objects() -> int:
    """Collect what start-up left behind, then freeze the rest. The number frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def frozen_after_start_up(app: Any) -> Any:
    """The FastAPI `app`, its start-up heap frozen once its lifespan has started and before it
    serves. Only a service's own process does this (services.common.entrypoint), not an app
    built in a test's process, whose heap is the test run's."""
    start_up = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with start_up(app_) as state:
            frozen = freeze_start_up_objects()
            log.info("start_up_heap_frozen", objects=frozen)
            yield state

    app.router.lifespan_context = lifespan
    return app
