"""Another system reads TAC's events with the CloudEvents SDK (`cloudevents` on PyPI, the Kafka
protocol binding): every catalogue event, written to a real outbox table in PostgreSQL and
published by the real OutboxRelay to the real broker, is read back by a plain aiokafka consumer
and parsed by the SDK in structured mode, with every attribute as it was sent; its bytes validate
against the published JSON Schema its `dataschema` names."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from uuid import uuid4

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, from_structured
from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft202012Validator, FormatChecker

from schemas import export
from schemas.catalogue import EVENT_TYPES, SCHEMA_ID_PREFIX, make_envelope
from schemas.envelope import Actor, EnvelopeBase
from schemas.kafka_binding import STRUCTURED_CONTENT_TYPE
from schemas.vocabulary import Agency
from services.common.db import make_engine, make_session_factory
from services.common.kafka import make_producer
from services.common.outbox import OutboxRelay, add_to_outbox
from tests.unit.schemas.contract_examples import EXAMPLES

from .support import metadata, outbox, read_all

PRACTITIONER = Actor(practitioner_id="priya", organisation_id="sunflower-nursery", agency=Agency.SETTING, role="senco")
# A parent acts for no organisation: the extension attribute travels as JSON null.
PARENT = Actor(practitioner_id="mum-1", agency=Agency.PARENT, role="parent")
PARENT_WRITES = {"tac.referrals.parent_observation_shared.v1", "tac.referrals.ehc_parent_views_given.v1"}


def _every_catalogue_event() -> list[EnvelopeBase]:
    assert set(EXAMPLES) == set(EVENT_TYPES), "an example is missing for some event type"
    return [
        make_envelope(
            EXAMPLES[event_type], subject=uuid4(), actor=PARENT if event_type in PARENT_WRITES else PRACTITIONER,
            source=f"/tac/{event_type.split('.')[1]}", correlationid=f"corr-{n}", causationid=f"cause-{n}",
            time=datetime(2026, 12, 1, 9, 30, n, 123456, tzinfo=timezone.utc),
        )
        for n, event_type in enumerate(sorted(EVENT_TYPES))
    ]


@pytest.fixture
def outbox_store(postgres_url):
    engine = make_engine(postgres_url)
    metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


async def test_every_catalogue_event_relayed_from_the_outbox_is_read_by_the_cloudevents_sdk_as_sent(
    outbox_store, kafka_bootstrap, fresh_topic
):
    topic = await fresh_topic("ce-interop")
    sent = _every_catalogue_event()
    with outbox_store.begin() as session:
        for envelope in sent:
            add_to_outbox(session, outbox, envelope, topic=topic)
    producer = make_producer(kafka_bootstrap, client_id="ce-interop-test")
    await producer.start()
    try:
        relay = OutboxRelay(outbox_store, outbox, producer)
        assert await relay.run_once() == len(sent)
    finally:
        await producer.stop()

    records = await read_all(kafka_bootstrap, topic, expected=len(sent))
    assert len(records) == len(sent)
    by_id = {str(e.id): e for e in sent}
    fmt = JSONFormat()
    read_ids = []
    for record in records:
        message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
        assert message.headers["content-type"] == STRUCTURED_CONTENT_TYPE.encode()
        assert not any(name.startswith("ce_") for name in message.headers), "structured mode carries no ce_ headers"
        for read in (from_kafka, from_structured):
            event = read(message, fmt)
            envelope = by_id[event.get_id()]
            assert record.key == str(envelope.subject).encode(), "the Kafka key is the subject"
            assert event.get_extension("partitionkey") == str(envelope.subject)
            assert event.get_specversion() == "1.0"
            assert event.get_type() == envelope.type
            assert event.get_source() == envelope.source
            assert event.get_subject() == str(envelope.subject)
            assert event.get_time() == envelope.time
            assert event.get_datacontenttype() == "application/json"
            assert event.get_dataschema() == f"{SCHEMA_ID_PREFIX}{envelope.type}"
            actor = envelope.actor
            assert event.get_extension("actorpractitionerid") == actor.practitioner_id
            assert event.get_extension("actororganisationid") == actor.organisation_id
            assert event.get_extension("actoragency") == actor.agency.value
            assert event.get_extension("actorrole") == actor.role
            assert event.get_extension("category") == envelope.category
            assert event.get_extension("correlationid") == envelope.correlationid
            assert event.get_extension("causationid") == envelope.causationid
            assert event.get_data() == envelope.model_dump(mode="json")["data"]
        read_ids.append(event.get_id())
        # `dataschema` names a published file, and the bytes on the wire validate against it.
        published = json.loads((export.SCHEMAS_DIR / export.JSONSCHEMA_DIR / f"{envelope.type}.json").read_text())
        assert published["$id"] == event.get_dataschema()
        wire = Draft202012Validator(published, format_checker=FormatChecker())
        assert not [e.message for e in wire.iter_errors(json.loads(record.value))]
    assert sorted(read_ids) == sorted(by_id), "every event read once"
    assert {e.actor.agency for e in sent} == {Agency.SETTING, Agency.PARENT}
