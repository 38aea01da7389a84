"""A SQLite store's WAL is copied into the database by a thread of its own
(services.common.db._BackgroundCheckpoints), not only by the committing thread once the WAL
holds 10,000 pages."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from services.common import db
from services.common.db import make_engine

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("body", String, nullable=False))

ROWS = 200
BODY = "x" * 2_000  # 200 rows of 2 kB: ~100 pages, far below the automatic checkpoint's 10,000


def _write(engine, first: int) -> None:
    with engine.begin() as connection:
        connection.execute(insert(rows), [{"id": first + i, "body": BODY} for i in range(ROWS)])


def _copied(path: Path, *, at_least: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if path.stat().st_size >= at_least:
            return True
        time.sleep(0.02)
    return path.stat().st_size >= at_least


def _idle(checkpoints: db._BackgroundCheckpoints, *, within_s: float = 5) -> bool:
    """The thread ended (its connection closed) within `within_s`."""
    deadline = time.monotonic() + within_s
    while checkpoints._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    return checkpoints._thread is None


@pytest.mark.parametrize("background", [True, False])
def test_what_is_committed_reaches_the_database_file_without_waiting_for_10000_pages(tmp_path, background):
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=background)
    try:
        metadata.create_all(engine)
        _write(engine, 0)
        # With the thread, the rows are copied out of the WAL within moments; without it they
        # stay in the WAL until it holds 10,000 pages (or the last connection closes).
        assert _copied(path, at_least=ROWS * len(BODY), within_s=5 if background else 1) is background
    finally:
        engine.dispose()


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A SQLite file with the tables made, whose checkpoint thread ends after 0.2 s idle."""
    monkeypatch.setattr(db, "_CHECKPOINT_IDLE_S", 0.2)
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        metadata.create_all(engine)
        yield path, engine, db._checkpoints(str(path))
    finally:
        engine.dispose()


def test_the_thread_ends_when_idle_and_starts_again_on_the_next_commit(store):
    path, engine, checkpoints = store
    _write(engine, 0)
    assert _copied(path, at_least=ROWS * len(BODY), within_s=5)
    assert _idle(checkpoints)

    _write(engine, ROWS)
    assert checkpoints._thread is not None
    assert _copied(path, at_least=2 * ROWS * len(BODY), within_s=5)


def test_a_read_does_not_wake_the_thread(store):
    _path, engine, checkpoints = store
    assert _idle(checkpoints)
    with db.make_snapshot_factory(engine)() as session, session.begin():
        session.execute(rows.select()).all()
    assert checkpoints._thread is None
