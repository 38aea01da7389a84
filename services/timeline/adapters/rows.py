"""Timeline records to table rows and back. The columns are named as the records' fields, so
each mapping is only the list of values that are stored in another form (ids as text, JSON as
text, times read back in UTC); every other field is stored as it is."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID

import orjson

from services.common.clock import utc
from services.timeline.adapters.shown_as import render
from services.timeline.domain.entries import NewEntry, StoredEntry
from services.timeline.domain.reading import AccessRecord

T = TypeVar("T")
Codec = Mapping[str, Callable[[Any], Any]]


def _compact_json(value: Any) -> str:
    # orjson: compact, and ids and times written as text.
    return orjson.dumps(value).decode()


ENTRY_TO_ROW: Codec = {"event_id": str, "child_id": str, "payload": _compact_json}
# A read's rows are all one child's: its id is parsed once, not once a row.
_child_uuid = lru_cache(maxsize=1024)(UUID)
ACCESS_TO_ROW: Codec = {"view_id": str, "child_id": str, "viewed_at": utc,
                        "bases": _compact_json}  # [[event id, basis], ...]: orjson writes UUIDs as text
ACCESS_FROM_ROW: Codec = {"view_id": UUID, "child_id": UUID, "viewed_at": utc,
                          "bases": lambda text: tuple((UUID(event_id), basis) for event_id, basis in orjson.loads(text))}


_PLANS: dict[tuple[type, int], tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _plan(cls: type, codec: Codec) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each field's name and its conversion (None: stored as it is), worked out once per
    record class and codec (the codecs are this module's constants): working it out per row
    cost more than the conversions themselves (bench/results/profile-read-*)."""
    key = (cls, id(codec))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = tuple((f.name, codec.get(f.name)) for f in fields(cls))
    return plan


def to_row(record: Any, codec: Codec) -> dict[str, Any]:
    return {name: getattr(record, name) if convert is None else convert(getattr(record, name))
            for name, convert in _plan(type(record), codec)}


_POSITIONS: dict[tuple[type, int, tuple[str, ...]], tuple[tuple[int, Callable[[Any], Any] | None], ...]] = {}


def _positions(cls: type, codec: Codec, columns: tuple[str, ...]) -> tuple[tuple[int, Callable[[Any], Any] | None], ...]:
    key = (cls, id(codec), columns)
    positions = _POSITIONS.get(key)
    if positions is None:
        index = {name: i for i, name in enumerate(columns)}
        positions = _POSITIONS[key] = tuple((index[name], convert) for name, convert in _plan(cls, codec))
    return positions


def from_row(cls: type[T], row: Any, codec: Codec) -> T:
    """`cls` from a result row (a SQLAlchemy Row), its fields taken by position: a Row's
    attribute lookup was a quarter of converting a row."""
    return cls(*[row[i] if convert is None else convert(row[i]) for i, convert in _positions(cls, codec, row._fields)])


def entry_row(entry: NewEntry, **extra: Any) -> dict[str, Any]:
    return {**to_row(entry, ENTRY_TO_ROW), "shown_as": render(entry), **extra}


# The columns a read selects: StoredEntry's fields, in their order.
STORED_ENTRY_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(StoredEntry))


def stored_entries(rows: Any) -> list[StoredEntry]:
    """StoredEntry of each row of a query that selects STORED_ENTRY_COLUMNS, unpacked by position,
    no conversion looked up per field (which `from_row` does: 1.1 ms of the 12.6 a chunk of 1,001
    took on SQLite, measured ad hoc). Ids are stored as text; SQLite keeps times without zone."""
    return [StoredEntry(UUID(event_id), _child_uuid(child_id), utc(occurred_at), organisation, category, answers, shown_as)
            for event_id, child_id, occurred_at, organisation, category, answers, shown_as in rows]


if STORED_ENTRY_COLUMNS != ("event_id", "child_id", "occurred_at", "author_organisation_id", "category",
                            "answers_request_of", "shown_as"):
    raise RuntimeError("StoredEntry's fields changed: stored_entries takes them by position")


def access_row(record: AccessRecord) -> dict[str, Any]:
    return to_row(record, ACCESS_TO_ROW)


def access_record(row: Any) -> AccessRecord:
    return from_row(AccessRecord, row, ACCESS_FROM_ROW)
