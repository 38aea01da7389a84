"""Strict writers, tolerant readers: a consumer reads an event with fields it does not know, and
recognises a well-formed event of a type it does not know, instead of dead-lettering either."""

from __future__ import annotations

import json

import pytest

from schemas.catalogue import InvalidEvent, UnknownEventType, make_envelope, parse_event
from schemas.kafka_binding import parse_kafka_message

CONCERN = "tac.referrals.concern_raised.v1"


@pytest.fixture
def concern(examples, practitioner, child_id) -> dict:
    envelope = make_envelope(examples[CONCERN], subject=child_id, actor=practitioner, source="/tac/referrals")
    return json.loads(envelope.to_json_bytes())


def test_a_new_optional_field_is_read_by_a_reader_and_refused_by_a_writer(concern):
    newer = {**concern, "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
             "data": {**concern["data"], "urgency": "high"}}
    raw = json.dumps(newer)

    read = parse_event(raw, reading=True)
    assert read == parse_event(json.dumps(concern))
    assert parse_kafka_message(raw, None) == read
    with pytest.raises(InvalidEvent, match="Extra inputs are not permitted"):
        parse_event(raw)


def test_a_required_field_missing_is_still_invalid_for_a_reader(concern):
    del concern["data"]["summary"]
    with pytest.raises(InvalidEvent, match="violates its schema"):
        parse_event(json.dumps(concern), reading=True)


def test_an_unknown_type_is_recognised_with_what_every_event_carries(concern, practitioner, child_id):
    newer = {**concern, "type": "tac.referrals.speech_screening_done.v1", "category": "slt",
             "dataschema": "urn:tac:jsonschema:tac.referrals.speech_screening_done.v1",
             "data": {"screening_id": "7d1c1c43-8f1e-4b59-9d4f-a5e0e2a4f8b1", "outcome": "refer"}}

    with pytest.raises(UnknownEventType) as unknown:
        parse_kafka_message(json.dumps(newer), None)
    envelope = unknown.value.envelope
    assert (envelope.type, envelope.category, envelope.subject) == (newer["type"], "slt", child_id)
    assert envelope.actor == practitioner
    assert envelope.data == newer["data"]


def test_an_unknown_type_that_is_not_a_valid_envelope_is_invalid_not_unknown(concern):
    broken = {**concern, "type": "tac.referrals.speech_screening_done.v1"}
    del broken["subject"]
    with pytest.raises(InvalidEvent) as invalid:
        parse_event(json.dumps(broken), reading=True)
    assert not isinstance(invalid.value, UnknownEventType)
    assert "subject" in invalid.value.reason


def test_an_envelope_stored_with_a_nested_actor_is_still_read(concern, practitioner):
    stored = {k: v for k, v in concern.items() if not k.startswith("actor")}
    stored["actor"] = practitioner.model_dump(mode="json")
    for reading in (False, True):
        assert parse_event(json.dumps(stored), reading=reading).actor == practitioner
