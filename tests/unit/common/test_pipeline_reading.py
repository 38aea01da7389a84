"""The consumer pipeline reads CloudEvents as the Kafka binding allows: TAC's structured mode,
another producer's binary mode (made here by the CloudEvents SDK), and a newer producer's extra
fields; an unknown type is still parked with its reason, never dropped unseen."""

from __future__ import annotations

import json

from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas import topics
from schemas.catalogue import make_envelope
from schemas.kafka_binding import kafka_headers
from services.common.pipeline import Incoming, parse_batch
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


def test_an_unknown_type_is_parked_with_its_reason():
    body = json.loads(_envelope().to_json_bytes())
    body["type"] = "tac.referrals.speech_screening_done.v1"
    parsed = parse_batch([_incoming(json.dumps(body).encode())])
    assert not parsed.valid
    assert [p.reason for p in parsed.poison] == ["unknown event type 'tac.referrals.speech_screening_done.v1'"]
