"""A consumer's subscriptions are checked when it is built (services.common.incoming.subscriptions):
a topic name with no contract topic would switch off the misrouting check and the consent holds,
and a consumer of a topic whose messages may restrict access must be able to hold (fail closed)."""

from __future__ import annotations

import pytest

from schemas import topics
from services.common.batch_consumer import BatchConsumer
from services.common.kafka import envelope_consumer
from services.common.messagebus import MessageBus
from services.common.incoming import subscriptions
from services.common.unit_of_work import UnitOfWorkFactory


async def _handler(envelope) -> None:
    return None


async def _hold(holds) -> None:
    return None


def _consumer(topic_names, **kwargs) -> BatchConsumer:
    return envelope_consumer(bootstrap="127.0.0.1:1", topics=topic_names, group_id="g", producer=None,
                             consumer_name="c", **kwargs)


def test_a_topic_name_with_no_contract_topic_is_refused_naming_it():
    with pytest.raises(ValueError, match="no contract topic for tac.consent.v1-test"):
        _consumer(["tac.consent.v1-test"], handler=_handler, hold=_hold)


async def test_a_renamed_topic_mapped_to_its_contract_is_read_as_that_contract():
    consumer = _consumer({"tac.consent.v1-test": topics.CONSENT}, handler=_handler, hold=_hold)
    assert consumer.topics == {"tac.consent.v1-test": topics.CONSENT}


@pytest.mark.parametrize("contract", [topics.CONSENT, topics.REFERRALS])
def test_a_consumer_of_a_topic_that_may_restrict_access_cannot_be_built_without_holds(contract):
    with pytest.raises(TypeError, match="must record consent holds"):
        _consumer({"renamed": contract}, handler=_handler)
    without_copy = MessageBus({}).sink(UnitOfWorkFactory(sessions=None))
    with pytest.raises(TypeError, match="must record consent holds"):
        subscriptions({"renamed": contract}, without_copy)


def test_a_topic_whose_messages_restrict_nothing_needs_no_holds():
    assert subscriptions({"audit": topics.AUDIT}, object()) == {"audit": topics.AUDIT}
