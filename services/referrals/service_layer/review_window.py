"""Announcing the integrated review window (DESIGN §5: "remind the health visitor and the
setting as the child nears 24 months"): IntegratedReviewWindowOpened, published on the day a
child reaches 23 months (domain.clock.REVIEW_APPROACHING_MONTHS, the day the
review list starts showing the child as approaching), exactly once per child.

No date derived from the date of birth travels ahead of the day (ChildRegistered carries
none); the announcement says only "today". A child registered already past 23 months (and not
yet at school) is announced at registration, in the same transaction; everyone else by
entrypoints.review_window_task, which looks for children owed the announcement every `interval_s`.

"Exactly once" is a row in `child_notices` (primary key: child, notice) written in the same
transaction as the event's outbox row, as services/consent/service_layer/expiry.py does for consents: after a
restart the row is there and nothing is emitted again; a second replica racing for the same
child fails on the key and rolls back its outbox row with it.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError

from schemas.envelope import Actor
from schemas.events.referrals import IntegratedReviewWindowOpened
from schemas.vocabulary import Agency
from services.referrals.domain import clock
from services.referrals.service_layer.unit_of_work import Deps, UnitOfWork, unit_of_work

log = structlog.get_logger(__name__)

NOTICE = "integrated_review_window_opened"


def system_actor(setting_organisation_id: str) -> Actor:
    """The service announces, on behalf of the child's setting: the fact comes from the record
    the setting made (the date of birth), so consumers' "own record" rule (DESIGN §3 rule 2)
    shows it to the setting, and to anyone else only under consent for `health`."""
    return Actor(practitioner_id="tac-referrals-service", organisation_id=setting_organisation_id,
                 agency=Agency.SETTING, role="system")


def announce(uow: UnitOfWork, child_id: UUID, setting_organisation_id: str) -> UUID:
    """Emit the announcement and record it, in the caller's transaction; IntegrityError (at the
    flush, before anything commits) when it was announced already."""
    event_id = uow.emit(system_actor(setting_organisation_id), child_id,
                        IntegratedReviewWindowOpened(announced_on=uow.today))
    uow.store.record_notice(child_id=child_id, notice=NOTICE, event_id=event_id, now=uow.now)
    uow.store.flush()
    return event_id


def children_due(deps: Deps, *, batch_size: int) -> list[tuple[UUID, str]]:
    today = deps.today()
    with deps.reading() as store:
        return store.children_owing_notice(
            NOTICE, born_on_or_before=clock.latest_birth_date_reaching(clock.REVIEW_APPROACHING_MONTHS, today),
            born_after=clock.latest_birth_date_at_school(today), limit=batch_size)


def announce_due(deps: Deps, *, batch_size: int = 200) -> tuple[int, int]:
    """Announce for at most `batch_size` children owed it, one transaction each; return (how
    many were looked at, how many announced)."""
    due = children_due(deps, batch_size=batch_size)
    announced = 0
    for child_id, setting in due:
        try:
            with unit_of_work(deps) as uow:
                announce(uow, child_id, setting)
        except IntegrityError:
            log.info("review_window_already_announced", child_id=str(child_id))
            continue
        announced += 1
    return len(due), announced
