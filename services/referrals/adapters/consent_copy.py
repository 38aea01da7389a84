"""This service's own copy of the decision's state (DESIGN §4: services share nothing but
events). It keeps exactly what the decision folds (consent_policy.state.FOLDED_TYPES):
the consent events of `tac.consent.v1`, stored here per child under their event id, claimed in
the same transaction (services.common.idempotency), so a redelivery or a replay is a no-op; and
the team events this service emits itself, stored by services.referrals.service_layer.unit_of_work in the
transaction of the write. The ConsentState fold is rebuilt from the stored events per read."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from schemas.envelope import EnvelopeBase
from services.common.idempotency import claim_event
from consent_policy.state import FOLDED_TYPES
from services.referrals.adapters import tables
from services.referrals.adapters.consent_store import store_consent_event

# What ConsentState folds; anything else on the topic is acknowledged (claimed) and not kept.
KEPT_TYPES = FOLDED_TYPES


class ConsentCopy:
    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def apply(self, envelope: EnvelopeBase) -> bool:
        """Store one consent event; False when it had been stored already."""
        with self._sessions.begin() as session:
            if not claim_event(session, tables.processed_events, envelope.id):
                return False
            if envelope.type in KEPT_TYPES:
                store_consent_event(session, envelope)
            return True

    async def handle(self, envelope: EnvelopeBase) -> None:
        """The EnvelopeConsumer handler: database work off the event loop."""
        await asyncio.to_thread(self.apply, envelope)
