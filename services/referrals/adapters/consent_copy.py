"""The consumer's side of this service's copy of the decision's state (DESIGN §4: services share
nothing but events): each event of `tac.consent.v1` is claimed by its id in the transaction
that keeps it (services.common.idempotency), so a redelivery or a replay is a no-op. What is
kept is exactly what the decision folds (consent_policy.state.FOLDED_TYPES; the rest is claimed
and dropped), in the table consent_policy.store defines and adapters.tables mounts; the team
events this service emits itself are kept by service_layer.unit_of_work in the write's
transaction. The ConsentState fold is rebuilt from the kept events per read."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from schemas.envelope import EnvelopeBase
from services.common.idempotency import claim_event
from services.referrals.adapters import tables


class ConsentCopy:
    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def apply(self, envelope: EnvelopeBase) -> bool:
        """Keep one consent event; False when it had been applied already."""
        with self._sessions.begin() as session:
            if not claim_event(session, tables.processed_events, envelope.id):
                return False
            tables.consent_copy.record(session, envelope)
            return True

    async def handle(self, envelope: EnvelopeBase) -> None:
        """The EnvelopeConsumer handler: database work off the event loop."""
        await asyncio.to_thread(self.apply, envelope)
