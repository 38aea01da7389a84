"""TAC's Kafka messages are CloudEvents by the Kafka protocol binding, as the CloudEvents SDK
(`cloudevents` on PyPI) reads and writes them: structured mode out, both modes in."""

from __future__ import annotations

import json

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, from_structured, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas.catalogue import EVENT_TYPES, InvalidEvent, make_envelope
from schemas.kafka_binding import STRUCTURED_CONTENT_TYPE, kafka_headers, parse_kafka_message


def _message(envelope) -> KafkaMessage:
    return KafkaMessage(headers={k: v.encode() for k, v in kafka_headers(envelope).items()}, key=envelope.key,
                        value=envelope.to_json_bytes())


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_sdk_reads_every_tac_message_as_a_structured_cloudevent(event_type, examples, practitioner, child_id):
    envelope = make_envelope(examples[event_type], subject=child_id, actor=practitioner, source="/tac/test")
    message = _message(envelope)
    assert message.headers["content-type"] == STRUCTURED_CONTENT_TYPE.encode()

    for read in (from_structured, from_kafka):
        event = read(message, JSONFormat())
        assert event.get_type() == envelope.type
        assert event.get_source() == envelope.source
        assert event.get_subject() == str(envelope.subject)
        assert event.get_time() == envelope.time
        assert event.get_dataschema() == f"urn:tac:jsonschema:{envelope.type}"
        assert event.get_extension("actororganisationid") == practitioner.organisation_id
        assert event.get_extension("category") == envelope.category
        assert event.get_data() == json.loads(envelope.to_json_bytes())["data"]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_binary_mode_message_made_by_the_sdk_is_read_as_the_same_envelope(event_type, examples, practitioner,
                                                                             child_id):
    envelope = make_envelope(examples[event_type], subject=child_id, actor=practitioner, source="/tac/test")
    body = json.loads(envelope.to_json_bytes())
    data = body.pop("data")
    attributes = {k: v for k, v in body.items() if v is not None} | {"time": envelope.time}
    message = to_binary(CloudEvent(attributes, data), JSONFormat())
    assert any(name.startswith("ce_") for name in message.headers)

    assert parse_kafka_message(message.value, list(message.headers.items())) == envelope


def test_a_message_without_headers_is_read_as_structured(examples, practitioner, child_id):
    envelope = make_envelope(examples["tac.referrals.concern_raised.v1"], subject=child_id, actor=practitioner,
                             source="/tac/test")
    assert parse_kafka_message(envelope.to_json_bytes(), None) == envelope


def test_binary_mode_data_that_is_not_json_is_an_invalid_event():
    headers = [("ce_specversion", b"1.0"), ("ce_type", b"tac.referrals.concern_raised.v1"), ("ce_id", b"x"),
               ("content-type", b"text/plain")]
    with pytest.raises(InvalidEvent, match="only JSON data"):
        parse_kafka_message(b"hello", headers)
