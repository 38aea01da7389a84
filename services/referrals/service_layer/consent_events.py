"""What this service does with the events it consumes (tac.consent.v1): the handler table, read
by the consumer pipeline (services.common.messagebus) one event at a time, once per event id,
in one unit of work. It keeps exactly what the decision folds (consent_policy.state.FOLDED_TYPES)
in this service's copy of the decision's state; any other event on the topic (a reminder that
a consent will lapse) is claimed and otherwise ignored. The team events this service emits
itself are kept by the unit of work that emits them (service_layer.unit_of_work)."""

from __future__ import annotations

from schemas.envelope import EnvelopeBase
from schemas.events.consent import ConsentExpired, ConsentGranted, ConsentWithdrawn, SafeguardingAccessGranted
from services.common.messagebus import Handlers
from services.common.unit_of_work import UnitOfWork
from services.referrals.adapters.tables import consent_copy


def keep_consent_state(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    consent_copy.record(uow.session, envelope)


HANDLERS: Handlers = {
    ConsentGranted: [keep_consent_state],
    ConsentWithdrawn: [keep_consent_state],
    ConsentExpired: [keep_consent_state],
    SafeguardingAccessGranted: [keep_consent_state],
}
