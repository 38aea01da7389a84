"""The clock's entry point: a background task that announces the integrated review window to
the children owed it (service_layer.review_window.announce_due), every `interval_s`."""

from __future__ import annotations

import asyncio

import structlog

from services.referrals.service_layer.review_window import announce_due
from services.referrals.service_layer.unit_of_work import Deps

log = structlog.get_logger(__name__)


class ReviewWindowTask:
    """Runs `announce_due` every `interval_s` (and once at start) until stopped; a failure
    (database away) is logged and retried on the next tick, never fatal."""

    def __init__(self, deps: Deps, *, interval_s: float = 3600.0, batch_size: int = 200) -> None:
        self._deps = deps
        self._interval_s = interval_s
        self._batch_size = batch_size
        self.runs = 0  # completed passes, for tests and metrics

    async def run_once(self) -> int:
        total = 0
        while True:
            looked_at, announced = await asyncio.to_thread(announce_due, self._deps, batch_size=self._batch_size)
            total += announced
            if looked_at < self._batch_size or not announced:  # nothing left, or no progress to make now
                return total

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                announced = await self.run_once()
                if announced:
                    log.info("review_windows_announced", count=announced)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the task outlives a database hiccup
                log.warning("review_window_task_failed", error=type(exc).__name__, exc_info=exc)
            self.runs += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._interval_s)
            except asyncio.TimeoutError:
                pass
