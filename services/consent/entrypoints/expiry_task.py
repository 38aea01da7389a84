"""The expiry task: runs the expiry use cases (services.consent.service_layer.expiry) every
`interval_s` until stopped, beside the API in the service's process.
"""

from __future__ import annotations

import asyncio

from services.common.tasks import repeat
from services.consent.service_layer.expiry import emit_due_notices
from services.consent.service_layer.unit_of_work import Deps


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
        await repeat(stop, self._interval_s, self.run_once, done="consent_notices_emitted", failed="consent_expiry_failed")
