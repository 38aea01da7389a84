"""The consumer pipeline reads CloudEvents as the Kafka binding allows: TAC's structured mode,
another producer's binary mode (made here by the CloudEvents SDK), and a newer producer's extra
fields and a newer producer's event types (handed on as their generic envelope: what the
handler table does with them is services.common.messagebus's, tests/unit/common/test_tolerant_reader.py)."""

from __future__ import annotations

import json

from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas import topics
from schemas.catalogue import make_envelope
from schemas.kafka_binding import kafka_headers
from services.common.incoming import Incoming, parse_batch
from tests.unit.schemas.contract_examples import CHILD, EXAMPLES, practitioner

CONCERN = "tac.referrals.concern_raised.v1"


def _envelope():
    return make_envelope(EXAMPLES[CONCERN], subject=CHILD, actor=practitioner(), source="/tac/referrals")


def _incoming(value: bytes, headers=()) -> Incoming:
    return Incoming(value, str(CHILD).encode(), topics.REFERRALS.name, 0, 7, topics.REFERRALS, tuple(headers))


def test_a_structured_mode_message_is_read():
    envelope = _envelope()
    headers = [(k, v.encode()) for k, v in kafka_headers(envelope).items()]
    parsed = parse_batch([_incoming(envelope.to_json_bytes(), headers)])
    assert [e for _, e in parsed.valid] == [envelope] and not parsed.poison


def test_a_binary_mode_message_from_the_sdk_is_read_as_the_same_event():
    envelope = _envelope()
    body = json.loads(envelope.to_json_bytes())
    data = body.pop("data")
    message = to_binary(CloudEvent({k: v for k, v in body.items() if v is not None} | {"time": envelope.time}, data),
                        JSONFormat())
    parsed = parse_batch([_incoming(message.value, message.headers.items())])
    assert [e for _, e in parsed.valid] == [envelope] and not parsed.poison


def test_a_newer_producers_extra_field_is_read_not_parked():
    body = json.loads(_envelope().to_json_bytes())
    body["data"]["urgency"] = "high"
    parsed = parse_batch([_incoming(json.dumps(body).encode())])
    assert len(parsed.valid) == 1 and not parsed.poison


def test_an_unknown_type_is_read_as_its_generic_envelope_not_parked():
    body = json.loads(_envelope().to_json_bytes())
    body["type"] = "tac.referrals.speech_screening_done.v1"
    parsed = parse_batch([_incoming(json.dumps(body).encode())])
    assert not parsed.poison
    [(_, envelope)] = parsed.valid
    assert (envelope.type, str(envelope.subject), envelope.category) == (body["type"], str(CHILD), body["category"])
    assert envelope.data == body["data"]  # left as JSON: this build has no model for it
