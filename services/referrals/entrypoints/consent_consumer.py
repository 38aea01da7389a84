"""The consumer entry point: tac.consent.v1 into this service's copy of the decision's state,
through the one consumer pipeline (services.common.kafka.envelope_consumer: parse, refuse what is
misrouted, apply once by event id in the copy's transaction, wait out what is transient,
dead-letter what is not) and the handler table of service_layer.consent_events."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from sqlalchemy.orm import Session, sessionmaker

from schemas import topics
from schemas.envelope import EnvelopeBase
from services.common.batch_consumer import BatchConsumer
from services.common.kafka import envelope_consumer
from services.common.messagebus import MessageBus
from services.common.unit_of_work import UnitOfWorkFactory
from services.referrals.adapters.tables import consent_copy
from services.referrals.config import ReferralsSettings
from services.referrals.service_layer.consent_events import HANDLERS
from services.referrals.service_layer.unit_of_work import transactions_of

# An unknown type on the consent topic holds the child in this service's copy (fail closed).
BUS = MessageBus(HANDLERS, service="referrals", consent_copy=consent_copy)


def consent_consumer(settings: ReferralsSettings, transactions: UnitOfWorkFactory,
                     producer: AIOKafkaProducer) -> BatchConsumer:
    return envelope_consumer(
        bootstrap=settings.kafka_bootstrap_servers, topics={settings.consent_topic: topics.CONSENT},
        group_id=settings.consent_group_id, sink=BUS.sink(transactions), producer=producer,
        consumer_name="tac-referrals-consent", deadletter_topic=settings.deadletter_topic,
    )


class ConsentCopy:
    """The same handler table applied to one event directly, as the consumer would apply it
    (tests and tools feed consent this way)."""

    def __init__(self, sessions: sessionmaker[Session]):
        self._sink = BUS.sink(transactions_of(sessions))

    def apply(self, envelope: EnvelopeBase) -> bool:
        """Keep one consent event; False when it had been applied already."""
        return self._sink.ingest([envelope]).stored == 1
