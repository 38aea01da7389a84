"""Consume at least once, apply exactly once: the consumed event's id is stored under a unique
key in the same transaction as its effect, so a redelivery or replay is a no-op."""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import Column, DateTime, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

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


def claimed_already(session: Session, table: Table, event_ids: Iterable[UUID]) -> set[UUID]:
    """The ids among `event_ids` already claimed (nothing is recorded)."""
    ids = list(dict.fromkeys(str(i) for i in event_ids))
    done: set[str] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        done.update(session.execute(select(table.c.event_id).where(table.c.event_id.in_(chunk))).scalars())
    return {UUID(i) for i in done}


def claim_events(session: Session, table: Table, event_ids: Iterable[UUID]) -> set[UUID]:
    """Claim a batch: returns the ids seen for the first time (now recorded); ids already
    processed, or repeated within the batch, are left out. One query per 500 ids and one bulk
    insert, so a consumer can apply a whole fetched batch in one transaction.

    The caller applies the effects of the returned ids only, in the same transaction. A
    concurrent claim of the same id by another consumer fails its commit on the primary key,
    rolling the duplicate effects back with it.
    """
    ids = list(dict.fromkeys(str(i) for i in event_ids))
    done = {str(i) for i in claimed_already(session, table, ids)}
    fresh = [i for i in ids if i not in done]
    if fresh:
        now = datetime.now(timezone.utc)
        session.execute(insert(table), [{"event_id": i, "processed_at": now} for i in fresh])
    return {UUID(i) for i in fresh}


def claim_event(session: Session, table: Table, event_id: UUID) -> bool:
    """True the first time this event is seen (and records it), False when already processed."""
    return bool(claim_events(session, table, [event_id]))
