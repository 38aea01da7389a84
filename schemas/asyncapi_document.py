"""The AsyncAPI 3.0.0 document of TAC's topics (schemas/asyncapi.yaml): a channel per topic, a
message per event type with its JSON Schema as payload, the producer of each topic."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

import yaml

from schemas import topics
from schemas.catalogue import ENVELOPE_CLASSES, EVENT_TYPES
from schemas.deadletter import REPLAY_OF_HEADER, REPLAYED_FROM_HEADER, DeadLetterRecord, DeadLetterReplayed
from schemas.envelope import Event
from schemas.compatibility import TOPIC_KEY
from schemas.kafka_binding import STRUCTURED_CONTENT_TYPE
from schemas.json_schemas import GENERATED_NOTE, canonical, json_schemas

# Version of the published contract document. Bump it when the catalogue changes (a breaking
# change to an event is a new `vN` type, never an edit in place: DESIGN §2).
CONTRACTS_VERSION = "1.2.0"
KAFKA_BINDING_VERSION = "0.5.0"
STRUCTURED_HEADERS = "CloudEventsStructuredHeaders"

# Who sends on each topic: (service name, CloudEvents `source`), per DESIGN §2.
PRODUCERS: dict[str, tuple[str, str | None]] = {
    topics.REFERRALS.name: ("referrals", "/tac/referrals"),
    topics.CONSENT.name: ("consent", "/tac/consent"),
    topics.AUDIT.name: ("timeline", "/tac/timeline"),
    topics.NOTIFICATIONS.name: ("notifications", "/tac/notifications"),
    topics.DEADLETTER.name: ("any consumer", None),
}


def channel_id(topic: topics.Topic) -> str:
    """`tac.referrals.v1` -> `referrals`."""
    return topic.name.split(".")[1]


def humanise(class_name: str) -> str:
    """`EHCDraftPlanIssued` -> `EHC draft plan issued`; acronyms stay in capitals."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z][a-z]+|[A-Z]+|[a-z]+|\d+", class_name)
    words = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _rewrite_refs(node: Any) -> Any:
    """`#/$defs/X` -> `#/components/schemas/X`, recursively."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                out[k] = "#/components/schemas/" + v.removeprefix("#/$defs/")
            else:
                out[k] = _rewrite_refs(v)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _add_component_schemas(components: dict[str, Any], name: str, schema: Mapping[str, Any]) -> None:
    """Put a JSON Schema and its `$defs` into `components.schemas`, refs rewritten. The same
    name must always mean the same schema."""
    schema = dict(schema)
    defs = schema.pop("$defs", {})
    # `$id` would change the base URI the rewritten refs resolve against; `$schema` is implied.
    for key in ("$id", "$schema", "$comment", TOPIC_KEY):  # the channel says the topic
        schema.pop(key, None)
    for def_name, def_schema in [*defs.items(), (name, schema)]:
        rewritten = _rewrite_refs(def_schema)
        existing = components.get(def_name)
        if existing is not None and existing != rewritten:
            raise ValueError(f"two different schemas are both named {def_name!r}; rename one of the models")
        components[def_name] = rewritten


def _key_schema(topic: topics.Topic) -> dict[str, Any]:
    if topic is topics.DEADLETTER:
        return {"type": "string", "description": f"Kafka key: {topic.key} (normally a child id); absent when it had none."}
    return {"type": "string", "format": "uuid", "description": f"Kafka key: {topic.key}."}


def _docstring(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return None
    return inspect.cleandoc(doc)


# How an event's docstring (its schema's and message's description) marks a rule of its own that
# JSON Schema cannot state (a comparison of two fields); tests/unit/schemas/test_formats.py keeps
# every event with such a validator marked.
UNSTATED_RULE_MARK = "JSON Schema cannot state"


def _with_unstated_rules() -> list[str]:
    return [e.__name__ for e in EVENT_TYPES.values() if UNSTATED_RULE_MARK in " ".join((_docstring(e) or "").split())]


def asyncapi_document() -> dict[str, Any]:
    schemas = json_schemas()
    component_schemas: dict[str, Any] = {}
    component_messages: dict[str, Any] = {}
    messages_by_topic: dict[str, list[str]] = {t.name: [] for t in topics.ALL_TOPICS}

    for event_type, event in EVENT_TYPES.items():
        if event.TOPIC.name not in messages_by_topic:
            raise ValueError(f"{event.__name__} travels on {event.TOPIC.name}, which is not in topics.ALL_TOPICS")
        envelope_name = ENVELOPE_CLASSES[event_type].__name__
        _add_component_schemas(component_schemas, envelope_name, schemas[event_type])
        component_messages[event.__name__] = _event_message(event, envelope_name)
        messages_by_topic[event.TOPIC.name].append(event.__name__)

    component_schemas[STRUCTURED_HEADERS] = {
        "type": "object",
        "description": (
            "Kafka headers of a structured-mode CloudEvent (CloudEvents Kafka protocol binding 1.0): the value "
            "is the whole event as JSON. Consumers also accept binary mode (`ce_` headers, the data alone as "
            "the value) from other producers."
        ),
        "properties": {
            "content-type": {"const": STRUCTURED_CONTENT_TYPE},
            "correlationid": {"type": "string", "maxLength": 128, "description": "The event's correlationid, repeated"},
            REPLAYED_FROM_HEADER: {
                "type": "string",
                "description": (
                    "Only on a message `tac deadletter replay` sent back from the dead-letter topic: "
                    "<dead-letter topic>:<partition>:<offset> of the record it came from. Consumers ignore it "
                    "(they de-duplicate by event id)."
                ),
            },
        },
        "required": ["content-type"],
    }

    record_name = DeadLetterRecord.__name__
    _add_component_schemas(component_schemas, record_name, schemas[DeadLetterRecord.TYPE])
    component_messages[record_name] = {
        "name": record_name,
        "title": "Dead-letter record",
        "summary": "A message a consumer could not process, with the error and the original bytes.",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {"reason": {"type": "string", "maxLength": 200,
                                      "description": "Why it was parked (the record's `reason`, cut to 200 characters)"}},
            "required": ["reason"],
        },
        "payload": {"$ref": f"#/components/schemas/{record_name}"},
        "bindings": {"kafka": {"key": _key_schema(topics.DEADLETTER), "bindingVersion": KAFKA_BINDING_VERSION}},
        "x-record-type": DeadLetterRecord.TYPE,
    }
    messages_by_topic[topics.DEADLETTER.name].append(record_name)

    marker_name = DeadLetterReplayed.__name__
    _add_component_schemas(component_schemas, marker_name, schemas[DeadLetterReplayed.TYPE])
    component_messages[marker_name] = {
        "name": marker_name,
        "title": "Dead-letter record replayed",
        "summary": "Appended by `tac deadletter replay` once a parked message went back to its source topic.",
        "description": (
            "Readers of the dead-letter topic tell it from a DeadLetterRecord by its `tac-replay-of` header. "
            "A record with a marker is not replayed again (replaying twice changes nothing; consumers also "
            "de-duplicate by event id)."
        ),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {REPLAY_OF_HEADER: {"type": "string", "pattern": "^[0-9]+:[0-9]+$",
                                              "description": "<partition>:<offset> of the record replayed"}},
            "required": [REPLAY_OF_HEADER],
        },
        "payload": {"$ref": f"#/components/schemas/{marker_name}"},
        "bindings": {"kafka": {"key": _key_schema(topics.DEADLETTER), "bindingVersion": KAFKA_BINDING_VERSION}},
        "x-record-type": DeadLetterReplayed.TYPE,
    }
    messages_by_topic[topics.DEADLETTER.name].append(marker_name)

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL_TOPICS:
        cid = channel_id(topic)
        names = messages_by_topic[topic.name]
        channels[cid] = {
            "address": topic.name,
            "title": topic.name,
            "description": (
                f"{topic.description} Key: {topic.key}. Partitions are configuration "
                f"(TAC_KAFKA_PARTITIONS), default {topics.DEFAULT_PARTITIONS}; ordering holds per key."
            ),
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "partitions": topics.DEFAULT_PARTITIONS,
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        service, source = PRODUCERS[topic.name]
        operation: dict[str, Any] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "title": f"Send on {topic.name}",
            "summary": (
                f"The {service} service publishes these messages (CloudEvents source {source})."
                if source
                else "Any consumer publishes here a message it could not process; `tac deadletter replay` "
                "appends a marker for each one it sends back."
            ),
            "messages": [{"$ref": f"#/channels/{cid}/messages/{n}"} for n in names],
            "x-producer": service,
        }
        operations[f"send_{cid}"] = operation

    return {
        "asyncapi": "3.0.0",
        "id": "urn:tac:asyncapi",
        "info": {
            "title": "TAC",
            "version": CONTRACTS_VERSION,
            "description": (
                "Team around the child: consent-aware SEND referral and case coordination over Kafka. "
                "Every event is a CloudEvents 1.0 event in structured mode of the Kafka protocol binding "
                "(`content-type: application/cloudevents+json`) whose `subject` is the child's pseudonymous "
                "id and also the Kafka key; `dataschema` names the event's JSON Schema. Rules JSON Schema "
                "cannot state (comparisons of two fields) are in the description of each message they "
                "apply to, and TAC's consumers refuse an event that breaks one: "
                + ", ".join(_with_unstated_rules()) + ". No name, address or date of birth travels "
                "on the bus. " + GENERATED_NOTE
            ),
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": component_messages,
            "schemas": canonical(dict(sorted(component_schemas.items()))),
        },
    }


def _event_message(event: type[Event], envelope_name: str) -> dict[str, Any]:
    title = humanise(event.__name__)
    doc = _docstring(event)
    message: dict[str, Any] = {
        "name": event.__name__,
        "title": title,
        "summary": f"{title} ({event.TYPE}), category `{event.CATEGORY}`.",
    }
    if doc:
        message["description"] = doc
    message.update(
        {
            "contentType": STRUCTURED_CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/CloudEventsStructuredHeaders"},
            "correlationId": {"location": "$message.payload#/correlationid"},
            "payload": {"$ref": f"#/components/schemas/{envelope_name}"},
            "bindings": {"kafka": {"key": _key_schema(event.TOPIC), "bindingVersion": KAFKA_BINDING_VERSION}},
            "x-category": str(event.CATEGORY),
            "x-cloudevents-type": event.TYPE,
        }
    )
    return message


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # never emit &anchors / *aliases
        return True


def dump_yaml(value: Any) -> str:
    body = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return f"# {GENERATED_NOTE}\n{body}"
