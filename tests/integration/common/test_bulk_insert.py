"""insert_rows stores exactly what SQLAlchemy's own executemany stores, on both stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select, text
from sqlalchemy.orm import Session

from services.common.bulk_insert import insert_rows
from services.common.clock import utc
from services.common.db import make_engine

metadata = MetaData()


def _table(name: str) -> Table:
    return Table(name, metadata, Column("id", Integer, primary_key=True), Column("label", String(20), nullable=True),
                 Column("at", DateTime(timezone=True), nullable=False), Column("body", Text, nullable=False),
                 Column("stored_at", DateTime(timezone=True), nullable=False))


by_insert_rows, by_sqlalchemy = _table("by_insert_rows"), _table("by_sqlalchemy")
with_default = Table("with_default", metadata, Column("id", Integer, primary_key=True),
                     Column("kind", String(10), nullable=False, default="plain"))


def _rows() -> list[dict]:
    stored_at = datetime(2026, 12, 3, 8, 0, 0, 123456, tzinfo=timezone.utc)  # one object down the column
    first = datetime(2026, 12, 3, 7, 59, 59, tzinfo=timezone.utc)
    return [{"id": i, "label": None if i % 3 == 0 else f"row {i}", "at": first + timedelta(microseconds=i * 7919),
             "body": "é" * i, "stored_at": stored_at} for i in range(1, 40)]


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_rows_are_stored_as_sqlalchemy_stores_them(engine):
    with Session(engine) as session, session.begin():
        insert_rows(session, by_insert_rows, _rows())
        session.execute(insert(by_sqlalchemy), _rows())
    with engine.connect() as connection:
        # As stored, not as read back: on SQLite a time is text, and its form must not change.
        ours = connection.execute(text("SELECT id, label, CAST(at AS TEXT), body, CAST(stored_at AS TEXT) "
                                       "FROM by_insert_rows ORDER BY id")).all()
        theirs = connection.execute(text("SELECT id, label, CAST(at AS TEXT), body, CAST(stored_at AS TEXT) "
                                         "FROM by_sqlalchemy ORDER BY id")).all()
        read = connection.execute(select(by_insert_rows).order_by(by_insert_rows.c.id)).all()
    assert ours == theirs and len(ours) == 39
    expected = _rows()
    assert [(r.id, r.label, utc(r.at), r.body, utc(r.stored_at)) for r in read] == [
        (e["id"], e["label"], e["at"], e["body"], e["stored_at"]) for e in expected]


def test_a_row_missing_a_column_is_refused(engine):
    rows = _rows()
    del rows[5]["body"]
    with pytest.raises(Exception), Session(engine) as session, session.begin():  # noqa: B017 - KeyError or SQLAlchemy's
        insert_rows(session, by_insert_rows, rows)
    with engine.connect() as connection:
        assert connection.execute(select(by_insert_rows)).all() == []


def test_a_column_default_left_out_is_refused_never_dropped(engine):
    # Neither the SQLite INSERT nor PostgreSQL's COPY would fill in SQLAlchemy's Python-side default.
    with pytest.raises(ValueError, match="kind"), Session(engine) as session, session.begin():
        insert_rows(session, with_default, [{"id": 1}, {"id": 2}])
    with engine.connect() as connection:
        assert connection.execute(select(with_default)).all() == []


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_nothing_is_written(engine):
    # The consumer tells a claim lost to another member (its commit fails on the key) from a
    # database that is away by SQLAlchemy's exception classes (services.common.db.is_transient).
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_rows(session, by_insert_rows, _rows() + _rows()[:1])
    with engine.connect() as connection:
        assert connection.execute(select(by_insert_rows)).all() == []


def test_nothing_to_insert_is_no_statement(engine):
    with Session(engine) as session, session.begin():
        insert_rows(session, by_insert_rows, [])
    with engine.connect() as connection:
        assert connection.execute(select(by_insert_rows)).all() == []
