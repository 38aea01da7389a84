"""The exported JSON Schemas and AsyncAPI document: fresh, complete, valid and self-consistent."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from schemas import export, topics
from schemas.catalogue import ENVELOPE_CLASSES, EVENT_TYPES, make_envelope
from schemas.deadletter import DeadLetterRecord, DeadLetterReplayed

SCHEMAS_DIR = export.SCHEMAS_DIR
JSONSCHEMA_DIR = SCHEMAS_DIR / export.JSONSCHEMA_DIR
ASYNCAPI_PATH = SCHEMAS_DIR / export.ASYNCAPI_FILE
ALL_SCHEMA_NAMES = sorted([*EVENT_TYPES, DeadLetterRecord.TYPE, DeadLetterReplayed.TYPE])


def _load_json(name: str) -> dict[str, Any]:
    return json.loads((JSONSCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    return yaml.safe_load(ASYNCAPI_PATH.read_text(encoding="utf-8"))


def _resolve_pointer(doc: Any, ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref!r} is not a local reference"
    node = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            assert part in node, f"{ref!r} does not resolve: no {part!r}"
            node = node[part]
    return node


def _refs(node: Any, path: str = "#") -> list[tuple[str, str]]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                found.append((path, v))
            else:
                found += _refs(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _refs(v, f"{path}/{i}")
    return found


# --- freshness -----------------------------------------------------------------------------


def test_exported_schemas_are_fresh():
    problems = export.check()
    assert not problems, "exported schemas are out of date; run `python -m schemas.export`:\n" + "\n".join(problems)


def test_export_check_reports_stale_missing_and_extra_files(tmp_path: Path):
    for rel, content in export.render().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content, encoding="utf-8")
    assert export.check(tmp_path) == []

    stale = f"{export.JSONSCHEMA_DIR}/{ALL_SCHEMA_NAMES[0]}.json"
    (tmp_path / stale).write_text("{}\n", encoding="utf-8")
    (tmp_path / export.ASYNCAPI_FILE).unlink()
    (tmp_path / export.JSONSCHEMA_DIR / "tac.referrals.gone.v1.json").write_text("{}\n", encoding="utf-8")

    problems = export.check(tmp_path)
    root = tmp_path.name
    assert problems == [
        f"missing: {root}/{export.ASYNCAPI_FILE}",
        f"stale: {root}/{stale}",
        f"extra: {root}/{export.JSONSCHEMA_DIR}/tac.referrals.gone.v1.json",
    ]

    export.write(tmp_path)
    assert export.check(tmp_path) == []


def test_export_is_deterministic():
    assert export.render() == export.render()


def test_exported_json_has_sorted_keys_two_space_indent_and_a_trailing_newline():
    for name in ALL_SCHEMA_NAMES:
        text = (JSONSCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n", name


# --- JSON Schema per type ------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_has_its_json_schema_file(event_type: str):
    schema = _load_json(event_type)
    assert schema["$id"].endswith(event_type)
    assert event_type in schema["title"]
    assert schema["properties"]["type"]["const"] == event_type
    assert schema["properties"]["category"]["const"] == str(EVENT_TYPES[event_type].CATEGORY)


def test_the_dead_letter_record_has_its_json_schema_file():
    schema = _load_json(DeadLetterRecord.TYPE)
    assert set(schema["properties"]) == {
        "reason", "source_topic", "partition", "offset", "consumer", "key", "original_b64", "original_headers",
        "failed_at",
    }
    # original_headers came after the first release: optional, so older records still validate
    assert set(schema["required"]) == set(schema["properties"]) - {"original_headers"}
    assert schema["additionalProperties"] is False


def test_the_replay_marker_has_its_json_schema_file():
    schema = _load_json(DeadLetterReplayed.TYPE)
    assert set(schema["required"]) == {
        "record_partition", "record_offset", "to_topic", "to_partition", "to_offset", "replayed_at",
    }
    assert schema["additionalProperties"] is False


def test_no_json_schema_file_is_left_over_from_a_removed_type():
    on_disk = sorted(p.stem for p in JSONSCHEMA_DIR.glob("*.json"))
    assert on_disk == ALL_SCHEMA_NAMES


@pytest.mark.parametrize("name", ALL_SCHEMA_NAMES)
def test_every_json_schema_is_valid_draft_2020_12(name: str):
    schema = _load_json(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_real_envelope_validates_against_its_json_schema(event_type, examples, practitioner, child_id):
    envelope = make_envelope(examples[event_type], subject=child_id, actor=practitioner, source="/tac/test")
    instance = json.loads(envelope.to_json_bytes())
    validator = Draft202012Validator(_load_json(event_type), format_checker=FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, errors


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_json_schema_rejects_an_envelope_of_another_type(event_type, examples, practitioner, child_id):
    other = next(t for t in sorted(EVENT_TYPES) if t != event_type)
    envelope = make_envelope(examples[other], subject=child_id, actor=practitioner, source="/tac/test")
    instance = json.loads(envelope.to_json_bytes())
    assert not Draft202012Validator(_load_json(event_type)).is_valid(instance)


def test_a_real_dead_letter_record_validates_against_its_json_schema():
    record = DeadLetterRecord.for_message(
        reason="malformed JSON: ...", source_topic=topics.REFERRALS.name, partition=3, offset=42,
        consumer="tac-timeline", key=b"6f1c7b1e-2f0a-4a8e-9d61-0c6f5d2b9a10", value=b"{not json",
        failed_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
    )
    instance = json.loads(record.to_json_bytes())
    validator = Draft202012Validator(_load_json(DeadLetterRecord.TYPE), format_checker=FormatChecker())
    assert not list(validator.iter_errors(instance))
    assert record.original == b"{not json"
    assert DeadLetterRecord.model_validate_json(record.to_json_bytes()) == record


def test_a_dead_letter_record_keeps_the_original_headers_in_order_and_reads_a_record_written_without_them():
    headers = [("ce_type", b"tac.referrals.concern_raised.v1"), ("content-type", b"application/json"), ("empty", None)]
    record = DeadLetterRecord.for_message(
        reason="x", source_topic="tac.referrals.v1", partition=0, offset=0, consumer="c",
        key=b"k", value=b"{}", headers=headers, failed_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
    )
    again = DeadLetterRecord.model_validate_json(record.to_json_bytes())
    assert again.headers == [("ce_type", b"tac.referrals.concern_raised.v1"), ("content-type", b"application/json"),
                             ("empty", b"")]
    older = {k: v for k, v in json.loads(record.to_json_bytes()).items() if k != "original_headers"}
    assert DeadLetterRecord.model_validate(older).headers == []
    validator = Draft202012Validator(_load_json(DeadLetterRecord.TYPE), format_checker=FormatChecker())
    assert validator.is_valid(older) and validator.is_valid(json.loads(record.to_json_bytes()))


def test_a_dead_letter_record_keeps_a_null_key_and_an_empty_value():
    record = DeadLetterRecord.for_message(
        reason="x", source_topic="tac.consent.v1", partition=0, offset=0, consumer="c",
        key=None, value=None, failed_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
    )
    assert json.loads(record.to_json_bytes())["key"] is None
    assert record.original == b""


# --- AsyncAPI --------------------------------------------------------------------------------


def test_the_asyncapi_document_is_version_3_0_0_titled_tac(asyncapi):
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["info"]["title"] == "TAC"
    assert asyncapi["info"]["version"]


def test_the_asyncapi_document_has_one_channel_per_topic(asyncapi):
    addresses = sorted(c["address"] for c in asyncapi["channels"].values())
    assert addresses == sorted(t.name for t in topics.ALL_TOPICS)
    for channel in asyncapi["channels"].values():
        assert channel["description"]
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
        assert channel["bindings"]["kafka"]["partitions"] == topics.DEFAULT_PARTITIONS


def _channel_for(asyncapi: dict[str, Any], topic_name: str) -> tuple[str, dict[str, Any]]:
    return next((cid, c) for cid, c in asyncapi["channels"].items() if c["address"] == topic_name)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_appears_in_the_asyncapi_document_under_its_topic(asyncapi, event_type):
    event = EVENT_TYPES[event_type]
    _, channel = _channel_for(asyncapi, event.TOPIC.name)
    assert event.__name__ in channel["messages"]
    message = _resolve_pointer(asyncapi, channel["messages"][event.__name__]["$ref"])
    assert message["name"] == event.__name__
    assert message["title"]
    assert message["contentType"] == "application/cloudevents+json"
    headers = _resolve_pointer(asyncapi, message["headers"]["$ref"])
    assert headers["properties"]["content-type"] == {"const": "application/cloudevents+json"}
    assert message["x-category"] == str(event.CATEGORY)
    assert message["x-cloudevents-type"] == event_type
    assert message["bindings"]["kafka"]["key"] == {
        "type": "string", "format": "uuid", "description": message["bindings"]["kafka"]["key"]["description"],
    }
    payload = _resolve_pointer(asyncapi, message["payload"]["$ref"])
    assert payload["properties"]["type"]["const"] == event_type
    # and on no other channel
    others = [c for c in asyncapi["channels"].values() if c["address"] != event.TOPIC.name]
    assert all(event.__name__ not in c["messages"] for c in others)


def test_every_message_in_the_asyncapi_document_is_a_catalogue_event_or_a_dead_letter_topic_record(asyncapi):
    names = {e.__name__ for e in EVENT_TYPES.values()} | {DeadLetterRecord.__name__, DeadLetterReplayed.__name__}
    assert set(asyncapi["components"]["messages"]) == names


def test_the_dead_letter_record_and_the_replay_marker_are_the_messages_on_the_dead_letter_channel(asyncapi):
    _, channel = _channel_for(asyncapi, topics.DEADLETTER.name)
    assert list(channel["messages"]) == [DeadLetterRecord.__name__, DeadLetterReplayed.__name__]
    message = _resolve_pointer(asyncapi, channel["messages"][DeadLetterRecord.__name__]["$ref"])
    payload = _resolve_pointer(asyncapi, message["payload"]["$ref"])
    assert set(payload["required"]) >= {"reason", "source_topic", "partition", "offset", "original_b64"}
    assert message["headers"]["required"] == ["reason"]
    marker = _resolve_pointer(asyncapi, channel["messages"][DeadLetterReplayed.__name__]["$ref"])
    assert marker["headers"]["required"] == ["tac-replay-of"]


@pytest.mark.parametrize(
    ("topic", "producer"),
    [
        (topics.REFERRALS, "referrals"),
        (topics.CONSENT, "consent"),
        (topics.AUDIT, "timeline"),
        (topics.NOTIFICATIONS, "notifications"),
        (topics.DEADLETTER, "any consumer"),
    ],
    ids=lambda v: v.name if isinstance(v, topics.Topic) else v,
)
def test_each_channel_has_a_send_operation_naming_its_producer(asyncapi, topic, producer):
    cid, channel = _channel_for(asyncapi, topic.name)
    sends = [op for op in asyncapi["operations"].values() if op["channel"]["$ref"] == f"#/channels/{cid}"]
    assert len(sends) == 1
    op = sends[0]
    assert op["action"] == "send"
    assert op["x-producer"] == producer
    assert producer in op["summary"].lower()
    assert sorted(m["$ref"] for m in op["messages"]) == sorted(f"#/channels/{cid}/messages/{n}" for n in channel["messages"])


def test_every_ref_in_the_asyncapi_document_resolves(asyncapi):
    refs = _refs(asyncapi)
    assert refs, "expected the document to use references"
    for where, ref in refs:
        assert not ref.startswith("#/$defs/"), f"{where}: {ref} points at a JSON Schema $defs that is not in the document"
        _resolve_pointer(asyncapi, ref)


def test_the_asyncapi_document_has_no_leftover_defs_or_ids(asyncapi):
    text = ASYNCAPI_PATH.read_text(encoding="utf-8")
    assert "$defs" not in text
    assert "$id" not in text  # an $id would rebase the rewritten #/components refs
    assert "&id" not in text and "*id" not in text  # no YAML anchors/aliases


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_asyncapi_payload_schema_accepts_a_real_envelope(asyncapi, event_type, examples, practitioner, child_id):
    """The component schemas, resolved within the document, still describe the real bytes."""
    name = ENVELOPE_CLASSES[event_type].__name__
    schema = {**asyncapi["components"]["schemas"][name], "components": asyncapi["components"]}
    envelope = make_envelope(examples[event_type], subject=child_id, actor=practitioner, source="/tac/test")
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = [e.message for e in validator.iter_errors(json.loads(envelope.to_json_bytes()))]
    assert not errors, errors
