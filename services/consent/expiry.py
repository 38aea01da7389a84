"""The expiry task: emits ConsentExpired when a consent's period ends and
ConsentExpiryReminderDue 30 days before (DESIGN §5), each exactly once per consent.

"Exactly once" is a row in `consent_notices` (primary key: consent, notice) written in the
same transaction as the event's outbox row. A restart finds the row and emits nothing; a
second replica racing for the same notice fails on the key and rolls back its outbox row too.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.exc import IntegrityError

from services.consent import store
from services.consent.domain import Consent
from services.consent.handlers import Deps, unit_of_work

log = structlog.get_logger(__name__)


def due_consents(deps: Deps, *, batch_size: int = 200) -> list[Consent]:
    """Consents that may owe a notice now (read outside any write transaction)."""
    with deps.sessions() as session:
        return store.consents_needing_notice(session, deps.now(), batch_size)


def emit_notices(deps: Deps, consents: list[Consent]) -> int:
    """Emit what each consent owes now, one transaction per notice; return how many were
    emitted. A notice someone else emitted since `consents` was read (a second replica, or a
    stale list) fails on the notice row's key and rolls back with its outbox row."""
    emitted = 0
    for consent in consents:
        for notice in consent.due_notices(deps.now()):
            try:
                with unit_of_work(deps) as uow:
                    event_id = uow.emit(consent.system_actor(), consent.child_id, consent.notice_event(notice))
                    store.record_notice(uow.session, consent.consent_id, notice, event_id, uow.now)
                    uow.session.flush()  # a duplicate fails here, before anything commits
            except IntegrityError:
                log.info("consent_notice_already_emitted", consent_id=str(consent.consent_id), notice=notice.value)
                continue
            emitted += 1
    return emitted


def emit_due_notices(deps: Deps, *, batch_size: int = 200) -> int:
    """Emit every due expiry and reminder (at most `batch_size` consents); return how many."""
    return emit_notices(deps, due_consents(deps, batch_size=batch_size))


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
