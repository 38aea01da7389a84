"""Every TAC event type, its concrete envelope, and the one way to parse and build envelopes.

Parsing uses a discriminated union on `type`, so an unknown type, a category that does not
belong to the type, or a payload that breaks its contract each fail with a readable reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union
from uuid import UUID

import orjson
from pydantic import Field, TypeAdapter, ValidationError, create_model

from schemas.envelope import (
    ACTOR_ATTRIBUTES, READING_EXTRA, Actor, EnvelopeBase, Event, actor_attributes, new_event_id, now_utc,
)
from schemas.events import audit, consent, referrals
from schemas.topics import Topic

# The `$id` of each published JSON Schema is this prefix and the event type; an envelope's
# `dataschema` names it.
SCHEMA_ID_PREFIX = "urn:tac:jsonschema:"

EVENT_CLASSES: tuple[type[Event], ...] = referrals.EVENTS + consent.EVENTS + audit.EVENTS
EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in EVENT_CLASSES}
assert len(EVENT_TYPES) == len(EVENT_CLASSES), "two events share a type"


def _envelope_class(event: type[Event]) -> type[EnvelopeBase]:
    return create_model(
        f"{event.__name__}Envelope",
        __base__=EnvelopeBase,
        __doc__=f"Envelope carrying {event.__name__} on {event.TOPIC.name}. {event.__doc__ or ''}".strip(),
        type=(Literal[event.TYPE], ...),  # type: ignore[valid-type]
        category=(Literal[str(event.CATEGORY)], ...),  # type: ignore[valid-type]
        data=(event, ...),
    )


ENVELOPE_CLASSES: dict[str, type[EnvelopeBase]] = {t: _envelope_class(cls) for t, cls in EVENT_TYPES.items()}

AnyEnvelope = Annotated[Union[tuple(ENVELOPE_CLASSES.values())], Field(discriminator="type")]  # type: ignore[misc]
_ADAPTER: TypeAdapter[EnvelopeBase] = TypeAdapter(AnyEnvelope)


class InvalidEvent(ValueError):
    """Bytes that are not a valid TAC event; `reason` says why in words a person can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnknownEventType(InvalidEvent):
    """A well-formed CloudEvent of a type this build does not know (a newer producer's). The
    generic `envelope` (its `data` left as JSON) lets a tolerant reader use what every event
    carries — who, about which child, when, of which category — instead of parking it."""

    def __init__(self, envelope: EnvelopeBase):
        super().__init__(f"unknown event type {envelope.type!r}")
        self.envelope = envelope


def _describe(error: ValidationError) -> str:
    parts = []
    for e in error.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "(message)"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def parse_event(raw: bytes | str, *, reading: bool = False) -> EnvelopeBase:
    """Validate bytes into a concrete envelope, or raise InvalidEvent (UnknownEventType for a
    well-formed event of a type not in the catalogue). `reading=True` is the tolerant reader of
    a consumer: fields it does not know are dropped (Contract); without it, parsing is strict.
    An envelope stored before the actor became attributes (a nested "actor") is read as well:
    a rebuild replays those."""
    extra = READING_EXTRA if reading else None
    try:
        return _ADAPTER.validate_json(raw, extra=extra)
    except ValidationError as e:
        nested = _with_actor_attributes(raw)
        if nested is not None:
            return parse_event(nested, reading=reading)
        return _raise_readable(e, raw, extra)


def _with_actor_attributes(raw: bytes | str) -> bytes | None:
    """The JSON of an envelope that nests its actor instead of carrying the four attributes,
    with the actor as the attributes; None for anything else, an envelope with both included
    (asked only once validation failed, so never on the usual path)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("actor"), dict) \
            or any(attribute in value for attribute in ACTOR_ATTRIBUTES.values()):
        return None
    return orjson.dumps({**{k: v for k, v in value.items() if k != "actor"}, **actor_attributes(value["actor"])})


def _raise_readable(e: ValidationError, raw: bytes | str, extra: str | None) -> EnvelopeBase:
    kinds = {err["type"] for err in e.errors()}
    if "json_invalid" in kinds:
        raise InvalidEvent(f"malformed JSON: {_describe(e)}") from None
    if "union_tag_invalid" in kinds:
        tag = next(err["ctx"]["tag"] for err in e.errors() if err["type"] == "union_tag_invalid")
        try:
            generic = EnvelopeBase.model_validate_json(raw, extra=extra)
        except ValidationError as malformed:
            raise InvalidEvent(f"unknown event type {tag!r}, and not a valid envelope: {_describe(malformed)}") from None
        raise UnknownEventType(generic) from None
    if "union_tag_not_found" in kinds:
        raise InvalidEvent("event has no 'type'") from None
    raise InvalidEvent(f"event violates its schema: {_describe(e)}") from None


def make_envelope(
    data: Event,
    *,
    subject: UUID,
    actor: Actor,
    source: str,
    correlationid: str | None = None,
    causationid: str | None = None,
    event_id: UUID | None = None,
    time: datetime | None = None,
) -> EnvelopeBase:
    """Wrap a payload in its concrete envelope, filling type, category, id and time."""
    cls = ENVELOPE_CLASSES[data.TYPE]
    eid = event_id or new_event_id()
    return cls(
        specversion="1.0",
        id=eid,
        type=data.TYPE,
        category=str(data.CATEGORY),
        source=source,
        subject=subject,
        time=time or now_utc(),
        **actor_attributes(actor.model_dump()),
        correlationid=correlationid or str(eid),
        causationid=causationid,
        dataschema=f"{SCHEMA_ID_PREFIX}{data.TYPE}",
        data=data,
    )


def topic_of(event_type: str) -> Topic:
    return EVENT_TYPES[event_type].TOPIC
