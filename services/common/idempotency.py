"""Consume at least once, apply exactly once: the consumed event's id is stored under a unique
key in the same transaction as its effect, so a redelivery or replay is a no-op."""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Iterable, Sequence
from uuid import UUID

import orjson
from sqlalchemy import Column, DateTime, MetaData, String, Table, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services.common.bulk_insert import insert_rows

TABLE_NAME = "processed_events"


def _columns() -> list[Column]:
    return [
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    ]


def define_processed_events_table(metadata: MetaData) -> Table:
    return Table(TABLE_NAME, metadata, *_columns())


def create_processed_events_table(op) -> None:
    """For a service's Alembic migration."""
    op.create_table(TABLE_NAME, *_columns())


_IN_CHUNK = 500  # ids per IN (...) list
_KEYS_ARRAY = bindparam("keys", type_=ARRAY(String))
_KEYS_JSON = select(column("value")).select_from(func.json_each(bindparam("keys", type_=String)))


def seen_among(session: Session, table: Table, keys: Sequence[str]) -> set[str]:
    """Which of `keys` (as stored: strings) are already claimed, in one query: the keys are one
    parameter, an array on PostgreSQL (`= ANY(:keys)`), a JSON array on SQLite (`IN (SELECT
    value FROM json_each(:keys))`); another database gets one query per 500, each key its own
    parameter. As IN lists of parameters the query took 33-49 µs an event of a batch on
    PostgreSQL and 6.3-6.4 on SQLite; as one parameter 13 and 3.0-4.6
    (bench/results/ingest-stages-2026-12-03-*-turn*.md)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return set(session.execute(select(table.c.event_id).where(table.c.event_id == any_(_KEYS_ARRAY)),
                                   {"keys": list(keys)}).scalars())
    if dialect == "sqlite":
        return set(session.execute(select(table.c.event_id).where(table.c.event_id.in_(_KEYS_JSON)),
                                   {"keys": orjson.dumps(list(keys)).decode()}).scalars())
    seen: set[str] = set()
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start:start + _IN_CHUNK]
        seen.update(session.execute(select(table.c.event_id).where(table.c.event_id.in_(chunk))).scalars())
    return seen


def claim_keys(session: Session, table: Table, keys: Iterable[str], *,
               also_look_up: Iterable[str] = ()) -> tuple[list[str], set[str]]:
    """Claim a batch by its keys as stored (strings): the keys seen for the first time, now
    recorded, in order and each once (keys already processed, or repeated within the batch,
    are left out); and which of `also_look_up` are claimed, before this batch or by it
    (nothing recorded for them). Both are answered by the same queries, one per 500 keys, and
    one bulk insert, so a consumer can apply a whole fetched batch in one transaction.

    Strings throughout: a batch of 500 built 1,500 UUID objects to compare ids it had as
    strings (bench/results/profile-ingest-sqlite.txt).

    The caller applies the effects of the fresh keys only, in the same transaction. A
    concurrent claim of the same key by another consumer fails its commit on the primary key,
    rolling the duplicate effects back with it."""
    ids = list(dict.fromkeys(keys))
    others = set(also_look_up)
    seen = seen_among(session, table, ids + list(others.difference(ids)))
    fresh = [i for i in ids if i not in seen]
    if fresh:
        now = datetime.now(timezone.utc)
        insert_rows(session, table, [{"event_id": i, "processed_at": now} for i in fresh])
    return fresh, others & (seen | set(fresh))


def claim_events(session: Session, table: Table, event_ids: Iterable[UUID]) -> set[UUID]:
    """Claim a batch of event ids: those seen for the first time (now recorded); claim_keys."""
    fresh, _ = claim_keys(session, table, (str(i) for i in event_ids))
    return {UUID(i) for i in fresh}


def claim_event(session: Session, table: Table, event_id: UUID) -> bool:
    """True the first time this event is seen (and records it), False when already processed."""
    return bool(claim_events(session, table, [event_id]))
