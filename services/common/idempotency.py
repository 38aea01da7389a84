"""Consume at least once, apply exactly once: the consumed event's id is stored under a unique
key in the same transaction as its effect, so a redelivery or replay is a no-op."""

from __future__ import annotations

from datetime import datetime, timezone
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


def claim_event(session: Session, table: Table, event_id: UUID) -> bool:
    """True the first time this event is seen (and records it), False when already processed.

    The caller applies the effect only on True, in the same transaction. A concurrent claim
    of the same id by another consumer fails its commit on the primary key, rolling the
    duplicate effect back with it.
    """
    key = str(event_id)
    if session.execute(select(table.c.event_id).where(table.c.event_id == key)).first():
        return False
    session.execute(insert(table).values(event_id=key, processed_at=datetime.now(timezone.utc)))
    return True
