"""Consuming twice applies once, on both stores."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from services.common.db import make_engine, make_session_factory
from services.common.idempotency import claim_event, define_processed_events_table

metadata = MetaData()
effects = Table("effects", metadata, Column("id", Integer, primary_key=True, autoincrement=True), Column("event_id", String(36)))
processed = define_processed_events_table(metadata)


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


def apply(sessions, event_id) -> None:
    with sessions.begin() as session:
        if claim_event(session, processed, event_id):
            session.execute(insert(effects).values(event_id=str(event_id)))


def test_a_redelivered_event_changes_nothing(sessions):
    event_id = uuid4()
    for _ in range(3):
        apply(sessions, event_id)
    apply(sessions, uuid4())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(effects)) == 2


def test_a_claim_rolled_back_with_its_effect_can_be_claimed_again(sessions):
    event_id = uuid4()
    with pytest.raises(RuntimeError):
        with sessions.begin() as session:
            assert claim_event(session, processed, event_id)
            raise RuntimeError("effect failed")
    apply(sessions, event_id)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(effects)) == 1


def test_an_unsupported_database_url_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported database URL"):
        make_engine("mysql://somewhere/db")


def test_a_batch_claim_returns_only_ids_never_seen_before_even_when_repeated_in_the_batch(sessions):
    from services.common.idempotency import claim_events

    old, new = uuid4(), uuid4()
    apply(sessions, old)
    many = [uuid4() for _ in range(1200)]  # more than one IN (...) chunk
    with sessions.begin() as session:
        assert claim_events(session, processed, [old, new, new, *many]) == {new, *many}
    with sessions.begin() as session:
        assert claim_events(session, processed, [old, new, *many]) == set()
