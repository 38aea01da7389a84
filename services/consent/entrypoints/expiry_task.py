"""The expiry task: runs the expiry use cases (services.consent.service_layer.expiry) every
`interval_s` until stopped, beside the API in the service's process.
"""

from __future__ import annotations

import asyncio

import structlog

from services.consent.service_layer.expiry import emit_due_notices
from services.consent.service_layer.unit_of_work import Deps

log = structlog.get_logger(__name__)


class ExpiryTask:
    """Runs `emit_due_notices` every `interval_s` until stopped; a failure (database away) is
    logged and retried on the next tick, never fatal."""

    def __init__(self, deps: Deps, *, interval_s: float = 60.0, batch_size: int = 200) -> None:
        self._deps = deps
        self._interval_s = interval_s
        self._batch_size = batch_size

    async def run_once(self) -> int:
        total = 0
        while True:
            emitted = await asyncio.to_thread(emit_due_notices, self._deps, batch_size=self._batch_size)
            total += emitted
            if emitted < self._batch_size:
                return total

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                emitted = await self.run_once()
                if emitted:
                    log.info("consent_notices_emitted", count=emitted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the task outlives a database hiccup
                log.warning("consent_expiry_failed", error=type(exc).__name__, exc_info=exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._interval_s)
            except asyncio.TimeoutError:
                pass
