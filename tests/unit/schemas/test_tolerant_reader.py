"""Strict writers, tolerant readers: a consumer reads an event with fields it does not know, and
recognises a well-formed event of a type it does not know, instead of dead-lettering either."""

from __future__ import annotations

import json

import pytest

from schemas.catalogue import InvalidEvent, UnknownEventType, make_envelope, parse_event
from schemas.events.consent import ConsentGranted
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


def test_a_reader_drops_unknown_fields_at_every_depth(examples, practitioner, child_id):
    granted = make_envelope(examples[ConsentGranted.TYPE], subject=child_id, actor=practitioner,
                            source="/tac/consent")
    body = json.loads(granted.to_json_bytes())
    body["data"]["recipients"]["region"] = "north"
    body["data"]["given_by"]["verified_how"] = "in person"

    assert parse_event(json.dumps(body), reading=True) == granted
    with pytest.raises(InvalidEvent, match="Extra inputs are not permitted"):
        parse_event(json.dumps(body))


def test_an_envelope_with_both_a_nested_actor_and_the_attributes_is_read_by_its_attributes(concern, practitioner):
    both = {**concern, "actor": {"practitioner_id": "someone-else", "organisation_id": "elsewhere",
                                 "agency": "setting", "role": "senco"}}
    assert parse_event(json.dumps(both), reading=True).actor == practitioner
    with pytest.raises(InvalidEvent, match="actor: Extra inputs are not permitted"):
        parse_event(json.dumps(both))


def test_a_nested_actor_that_is_not_a_valid_actor_is_refused(concern):
    stored = {k: v for k, v in concern.items() if not k.startswith("actor")}
    stored["actor"] = {"practitioner_id": "priya", "agency": "setting", "role": "senco"}  # no organisation
    with pytest.raises(InvalidEvent, match="organisation_id is required"):
        parse_event(json.dumps(stored), reading=True)


def _model_level_validators(schema, seen=None):
    """The kinds of validator that wrap a whole model in a pydantic-core schema tree."""
    found, seen = [], set() if seen is None else seen
    if isinstance(schema, dict):
        if id(schema) in seen:
            return found
        seen.add(id(schema))
        if schema.get("type") == "model":
            # A model's before- or wrap-validator sits between the model and its fields.
            inner = schema["schema"].get("type")
            if inner in ("function-before", "function-wrap", "function-plain"):
                found.append((inner, schema["cls"].__name__))
            if schema.get("custom_init"):
                found.append(("custom __init__", schema["cls"].__name__))
        for value in schema.values():
            found += _model_level_validators(value, seen)
    elif isinstance(schema, list):
        for value in schema:
            found += _model_level_validators(value, seen)
    return found


def test_nothing_makes_a_consumer_build_an_event_as_python_objects_before_validating_it():
    # A before- or wrap-validator on a model (or an __init__ of its own) hands it the input as
    # Python objects: pydantic then builds every event's whole JSON as dicts first, which made
    # parsing a batch 1.4 times as costly (bench/results/ingest-stages-2026-12-02-*). The
    # tolerant reader is pydantic's `extra` at validation instead, the nested actor a fallback
    # in parse_event.
    from schemas.catalogue import _ADAPTER

    assert _model_level_validators(_ADAPTER.core_schema) == []
