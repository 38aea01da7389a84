"""The consumer entry point: tac.consent.v1 into this service's copy of the decision's state
(adapters.consent_copy), through the shared EnvelopeConsumer (validate, dead-letter, apply once
by event id, batched commits)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from sqlalchemy.orm import Session, sessionmaker

from services.common.kafka import EnvelopeConsumer
from services.referrals.adapters.consent_copy import ConsentCopy
from services.referrals.config import ReferralsSettings


def consent_consumer(settings: ReferralsSettings, sessions: sessionmaker[Session],
                     producer: AIOKafkaProducer) -> EnvelopeConsumer:
    return EnvelopeConsumer(
        bootstrap=settings.kafka_bootstrap_servers, topics=[settings.consent_topic],
        group_id=settings.consent_group_id, handler=ConsentCopy(sessions).handle, producer=producer,
        consumer_name="tac-referrals-consent", deadletter_topic=settings.deadletter_topic,
    )
