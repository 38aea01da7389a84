"""The consent service's unit of work: the shared one (services.common.unit_of_work: one
transaction holding the state change, the outbox row and the claims of consumed event ids)
over this service's own store and its copy of each child's setting and team. It implements
services.consent.service_layer.unit_of_work.UnitOfWork.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_policy.holds import Hold
from schemas.envelope import Actor, EnvelopeBase, Event
from services.common import unit_of_work as common
from services.common.messagebus import record_holds
from services.consent import domain
from services.consent.adapters import store
from services.consent.domain import Consent, Notice, SafeguardingAccess, StoredConsent

if TYPE_CHECKING:
    from services.consent.service_layer.unit_of_work import Deps

SOURCE = "/tac/consent"


class SqlUnitOfWork:
    def __init__(self, unit: common.UnitOfWork) -> None:
        self._unit = unit
        self.session: Session = unit.session
        self.now = unit.now

    # -- the copy of each child's setting and team -----------------------------------------

    def claim(self, event_id: UUID) -> bool:
        return bool(self._unit.claim([event_id]))

    def keep_state_event(self, envelope: EnvelopeBase) -> None:
        store.consent_copy.record(self.session, envelope, received_at=self.now)

    def record_child_setting(self, child_id: UUID, setting_organisation_id: str, event_id: UUID) -> None:
        store.record_child_setting(self.session, child_id, setting_organisation_id, event_id, self.now)

    def relationship(self, child_id: UUID) -> domain.Relationship:
        """Who works with the child now: its setting and its team, from this service's copy."""
        setting = store.child_setting(self.session, child_id)
        if setting is None:
            return domain.UNKNOWN
        state = store.consent_copy.state_for(self.session, child_id)
        # Held (consent_policy.holds: a team event may have been missed): the team fails closed,
        # the setting still manages the child's consents.
        team = frozenset() if state.is_held(child_id) else state.team_members(child_id, self.now)
        return domain.Relationship(setting, team)

    def hold(self, holds: Sequence[Hold]) -> int:
        return record_holds("consent", store.consent_copy, self.session, holds)

    # -- consents ------------------------------------------------------------------------

    def add_consent(self, consent: Consent, granted_event_id: UUID) -> None:
        store.add_consent(self.session, consent, granted_event_id)

    def record_withdrawal(self, consent: Consent, event_id: UUID) -> bool:
        return store.record_withdrawal(self.session, consent, event_id)

    def get_consent(self, consent_id: UUID) -> StoredConsent | None:
        return store.get_consent(self.session, consent_id)

    def consents_of_child(self, child_id: UUID) -> list[StoredConsent]:
        return store.consents_of_child(self.session, child_id)

    def consents_needing_notice(self, limit: int) -> list[Consent]:
        return store.consents_needing_notice(self.session, self.now, limit)

    def record_notice(self, consent_id: UUID, notice: Notice, event_id: UUID) -> None:
        try:
            store.record_notice(self.session, consent_id, notice, event_id, self.now)
            self.session.flush()  # a duplicate fails here at the latest, before anything commits
        except IntegrityError:
            raise domain.NoticeAlreadyEmitted(f"{notice.value} of consent {consent_id}") from None

    # -- safeguarding --------------------------------------------------------------------

    def add_safeguarding_access(self, access: SafeguardingAccess, event_id: UUID) -> None:
        store.add_safeguarding_access(self.session, access, event_id)

    def safeguarding_access_of(self, child_id: UUID,
                               organisation_id: str | None) -> list[tuple[SafeguardingAccess, str]]:
        return store.safeguarding_access_of(self.session, child_id, organisation_id)

    # -- the outbox ----------------------------------------------------------------------

    def emit(self, actor: Actor, child_id: UUID, payload: Event) -> UUID:
        return self._unit.emit(actor, child_id, payload)


@contextmanager
def sql_unit_of_work(deps: Deps, write: bool) -> Iterator[SqlUnitOfWork]:
    """A write is one transaction (committed when the block ends, rolled back if it raises); a
    read is a plain session. (Deps wakes the relay after a commit.)"""
    if deps.sessions is None:
        raise RuntimeError("the SQL unit of work needs Deps.sessions")
    transactions = common.UnitOfWorkFactory(deps.sessions, clock=deps.clock, outbox=store.outbox,
                                            processed=store.processed_events, source=SOURCE,
                                            topic=deps.consent_topic)
    if write:
        with transactions() as unit:
            yield SqlUnitOfWork(unit)
    else:
        with deps.sessions() as session:
            yield SqlUnitOfWork(transactions.joining(session))
