"""Timeline records to table rows and back. The columns are named as the records' fields, so
each mapping is only the list of values that are stored in another form (ids as text, JSON as
text, times read back in UTC); every other field is stored as it is."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar
from uuid import UUID

from services.common.clock import utc
from services.timeline.domain.entries import NewEntry, StoredEntry
from services.timeline.domain.reading import AccessRecord

T = TypeVar("T")
Codec = Mapping[str, Callable[[Any], Any]]


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


ENTRY_TO_ROW: Codec = {"event_id": str, "child_id": str, "payload": _compact_json}
ENTRY_FROM_ROW: Codec = {"event_id": UUID, "child_id": UUID, "occurred_at": utc, "payload": json.loads}
ACCESS_TO_ROW: Codec = {"view_id": str, "child_id": str, "viewed_at": utc,
                        "bases": lambda bases: json.dumps([[str(event_id), basis] for event_id, basis in bases])}
ACCESS_FROM_ROW: Codec = {"view_id": UUID, "child_id": UUID, "viewed_at": utc,
                          "bases": lambda text: tuple((UUID(event_id), basis) for event_id, basis in json.loads(text))}


def _same(value: Any) -> Any:
    return value


def to_row(record: Any, codec: Codec) -> dict[str, Any]:
    return {f.name: codec.get(f.name, _same)(getattr(record, f.name)) for f in fields(record)}


def from_row(cls: type[T], row: Any, codec: Codec) -> T:
    return cls(**{f.name: codec.get(f.name, _same)(getattr(row, f.name)) for f in fields(cls)})  # type: ignore[arg-type]


def entry_row(entry: NewEntry, **extra: Any) -> dict[str, Any]:
    return {**to_row(entry, ENTRY_TO_ROW), **extra}


def stored_entry(row: Any) -> StoredEntry:
    return from_row(StoredEntry, row, ENTRY_FROM_ROW)


def access_row(record: AccessRecord) -> dict[str, Any]:
    return to_row(record, ACCESS_TO_ROW)


def access_record(row: Any) -> AccessRecord:
    return from_row(AccessRecord, row, ACCESS_FROM_ROW)
