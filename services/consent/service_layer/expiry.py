"""The expiry use cases: emit ConsentExpired when a consent's period ends and
ConsentExpiryReminderDue 30 days before (DESIGN §5), each exactly once per consent.

"Exactly once" is a notice row (key: consent, notice) written in the same unit of work as the
event's outbox row. A restart finds the row and emits nothing; a second replica racing for the
same notice fails on the key (domain.NoticeAlreadyEmitted) and rolls back its outbox row too.
The task that runs these on a timer is services.consent.entrypoints.expiry_task.
"""

from __future__ import annotations

import structlog

from services.consent.domain import Consent, NoticeAlreadyEmitted
from services.consent.service_layer.unit_of_work import Deps

log = structlog.get_logger(__name__)


def due_consents(deps: Deps, *, batch_size: int = 200) -> list[Consent]:
    """Consents that may owe a notice now (read outside any write transaction)."""
    with deps.read() as uow:
        return uow.consents_needing_notice(batch_size)


def emit_notices(deps: Deps, consents: list[Consent]) -> int:
    """Emit what each consent owes now, one transaction per notice; return how many were
    emitted. A notice someone else emitted since `consents` was read (a second replica, or a
    stale list) fails on the notice row's key and rolls back with its outbox row."""
    emitted = 0
    for consent in consents:
        for notice in consent.due_notices(deps.now()):
            try:
                with deps.begin() as uow:
                    event_id = uow.emit(consent.system_actor(), consent.child_id, consent.notice_event(notice))
                    uow.record_notice(consent.consent_id, notice, event_id)
            except NoticeAlreadyEmitted:
                log.info("consent_notice_already_emitted", consent_id=str(consent.consent_id), notice=notice.value)
                continue
            emitted += 1
    return emitted


def emit_due_notices(deps: Deps, *, batch_size: int = 200) -> int:
    """Emit every due expiry and reminder (at most `batch_size` consents); return how many."""
    return emit_notices(deps, due_consents(deps, batch_size=batch_size))
