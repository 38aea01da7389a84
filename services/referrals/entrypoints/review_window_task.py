"""The clock's entry point: a background task that announces the integrated review window to
the children owed it (service_layer.review_window.announce_due), every `interval_s`."""

from __future__ import annotations

import asyncio

from services.common.tasks import repeat
from services.referrals.service_layer.review_window import announce_due
from services.referrals.service_layer.unit_of_work import Deps


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
        await repeat(stop, self._interval_s, self.run_once, done="review_windows_announced",
                     failed="review_window_task_failed", after_each=self._count_run)

    def _count_run(self) -> None:
        self.runs += 1
