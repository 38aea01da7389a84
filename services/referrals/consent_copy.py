"""This service's own copy of consent state, from `tac.consent.v1` (DESIGN §4: services share
nothing but events). Each consent event is stored per child under its event id, claimed in the
same transaction (services.common.idempotency), so a redelivery or a replay is a no-op; the
ConsentState fold is rebuilt from the stored events when a referral is made."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from schemas.envelope import EnvelopeBase
from schemas.events.consent import ConsentExpired, ConsentGranted, ConsentWithdrawn, SafeguardingAccessGranted
from services.common.idempotency import claim_event
from services.referrals import store

# What ConsentState folds; anything else on the topic is acknowledged (claimed) and not kept.
KEPT_TYPES = frozenset(cls.TYPE for cls in (ConsentGranted, ConsentWithdrawn, ConsentExpired, SafeguardingAccessGranted))


class ConsentCopy:
    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def apply(self, envelope: EnvelopeBase) -> bool:
        """Store one consent event; False when it had been stored already."""
        with self._sessions.begin() as session:
            if not claim_event(session, store.processed_events, envelope.id):
                return False
            if envelope.type in KEPT_TYPES:
                store.store_consent_event(session, envelope)
            return True

    async def handle(self, envelope: EnvelopeBase) -> None:
        """The EnvelopeConsumer handler: database work off the event loop."""
        await asyncio.to_thread(self.apply, envelope)
