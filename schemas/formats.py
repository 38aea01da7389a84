"""The wire formats of the contracts, exactly as strict as the published JSON Schema.

pydantic on its own is lax: it reads `2026-12-01 09:30:00Z` (a space for the `T`), a number of
seconds as a time, and a UUID without hyphens, all of which the exported schema (`format:
date-time`, `format: uuid`, `format: date`) refuses. A producer in another language validating
against the schema and a TAC consumer must agree on every message, so these types check a
string against the same grammar before pydantic parses it (RFC 3339 §5.6 `date-time` and
`full-date`; RFC 9562's canonical 8-4-4-4-12 UUID text; RFC 3986 `URI` and `URI-reference`,
with the validator the JSON Schema format checker itself uses). Python objects (datetime, date,
UUID) pass through unchanged.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from rfc3986_validator import validate_rfc3986

# RFC 3339 §5.6 date-time, as the JSON Schema format checker applies it (upper-cased first, so
# `t` and `z` are accepted; no leap second).
_DATE_TIME = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)


def _rfc3339_date_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value.upper()):
        return value
    raise ValueError("must be an RFC 3339 date-time with a 'T' and an offset, e.g. 2026-12-01T09:30:00Z")


def _rfc3339_full_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _FULL_DATE.fullmatch(value):
        return value
    raise ValueError("must be an RFC 3339 full-date, e.g. 2026-12-01")


def _canonical_uuid(value: Any) -> Any:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    raise ValueError("must be a UUID in its canonical form, e.g. 0f8fad5b-d9cb-469f-a165-70867728950e")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_date_time)]
"""A point in time with its offset: JSON Schema `format: date-time`."""

Day = Annotated[date, BeforeValidator(_rfc3339_full_date)]
"""A calendar day: JSON Schema `format: date`."""

Uuid = Annotated[UUID, BeforeValidator(_canonical_uuid)]
"""An id: JSON Schema `format: uuid`, hyphenated."""


# Every event carries a `source` and most a `dataschema`, and a deployment has a few dozen of
# each: the answer for a string is remembered rather than matched again (the two checks were
# 4.7 µs of the ~30 µs an event's parse takes).
@lru_cache(maxsize=256)
def _is_rfc3986(value: str, rule: str) -> bool:
    return validate_rfc3986(value, rule=rule) is not None


def _uri_reference(value: str) -> str:
    if not _is_rfc3986(value, "URI_reference"):
        raise ValueError("must be a URI-reference (RFC 3986), e.g. /tac/referrals")
    return value


def _uri(value: str) -> str:
    if not _is_rfc3986(value, "URI"):
        raise ValueError("must be an absolute URI (RFC 3986), e.g. urn:tac:jsonschema:tac.referrals.concern_raised.v1")
    return value


UriReference = Annotated[str, AfterValidator(_uri_reference)]
"""JSON Schema `format: uri-reference` (CloudEvents `source`)."""

Uri = Annotated[str, AfterValidator(_uri)]
"""JSON Schema `format: uri` (CloudEvents `dataschema`)."""
