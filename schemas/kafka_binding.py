"""The CloudEvents Kafka protocol binding (v1.0), as TAC writes and reads it.

TAC writes **structured mode**: the message value is the whole event as JSON (`EnvelopeBase`),
the header `content-type: application/cloudevents+json` says so, and the key is the `subject`
(the child's id), so one child's events keep their order. A `correlationid` header repeats the
correlation id for tools that read only headers.

TAC reads both modes, so another producer may use the SDKs' default **binary mode**: the
attributes in `ce_`-prefixed headers, the data alone in the value, `content-type` giving the
data's media type (only JSON data is accepted). A message with neither `ce_` headers nor a
content type is read as structured (what TAC wrote before this binding was declared).

Pure: bytes and header pairs in, envelopes out; no Kafka client is imported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from schemas.catalogue import InvalidEvent, parse_event
from schemas.envelope import EnvelopeBase

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
CONTENT_TYPE_HEADER = "content-type"
CE_PREFIX = "ce_"
_JSON_DATA = ("application/json", "text/json")

Headers = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None


def kafka_headers(envelope: EnvelopeBase) -> dict[str, str]:
    """The headers of a structured-mode message carrying `envelope`."""
    return {CONTENT_TYPE_HEADER: STRUCTURED_CONTENT_TYPE, "correlationid": envelope.correlationid}


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    out = []
    for name, value in items:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out.append((str(name).lower(), "" if value is None else str(value)))
    return out


def envelope_json(value: bytes | str | None, headers: Headers) -> bytes | str:
    """The structured-mode JSON of a message in either mode; raises InvalidEvent when a
    binary-mode message cannot be one (data that is not JSON)."""
    pairs = _pairs(headers)
    attributes = {name[len(CE_PREFIX):]: text for name, text in pairs if name.startswith(CE_PREFIX)}
    if not attributes:
        return value if value is not None else b""
    content_type = next((text for name, text in pairs if name == CONTENT_TYPE_HEADER), "application/json")
    if content_type.split(";")[0].strip().lower() not in _JSON_DATA:
        raise InvalidEvent(f"binary-mode data of content-type {content_type!r}: only JSON data is read")
    try:
        data = json.loads(value) if value else None
    except ValueError as e:
        raise InvalidEvent(f"malformed JSON data in a binary-mode message: {e}") from None
    return json.dumps({**attributes, "datacontenttype": "application/json", "data": data})


def parse_kafka_message(value: bytes | str | None, headers: Headers) -> EnvelopeBase:
    """The envelope a Kafka message carries, in structured or binary mode, read as a tolerant
    reader (unknown fields dropped); raises InvalidEvent (UnknownEventType for a new type)."""
    return parse_event(envelope_json(value, headers), reading=True)
