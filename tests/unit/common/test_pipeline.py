"""The service skeleton and the consumer pipeline without a broker: a handler table applied
once per event id through a unit of work on in-memory SQLite, and the pipeline's checks."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, select

from schemas import topics
from schemas.events import consent as c
from schemas.events import referrals as r
from services.common.db import make_engine, make_session_factory
from services.common.idempotency import define_processed_events_table
from services.common.messagebus import Consumed, IngestResult, MessageBus
from services.common.outbox import define_outbox_table
from services.common.pipeline import BatchIngestor
from services.common.incoming import Incoming, misrouted_reason, parse_batch
from services.common.unit_of_work import UnitOfWorkFactory
from tests.unit.timeline.timeline_builders import NOW, SETTING, registered, sample, withdrawn
from tests.unit.timeline.timeline_builders import concern as concern_about

metadata = MetaData()
seen = Table("seen", metadata, Column("event_id", String(36), primary_key=True), Column("kind", String(20)))
processed = define_processed_events_table(metadata)
outbox = define_outbox_table(metadata)


def concern():
    return concern_about(uuid4())


@pytest.fixture
def transactions():
    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    commits = []
    factory = UnitOfWorkFactory(make_session_factory(engine), clock=lambda: NOW, outbox=outbox, processed=processed,
                                source="/test", on_commit=lambda: commits.append(1))
    factory.commits = commits
    yield factory
    engine.dispose()


def count(transactions, table) -> int:
    with transactions.sessions() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_handler_table_runs_each_new_event_once_in_one_transaction(transactions):
    calls = []

    def remember(envelope, uow):
        uow.add_row(seen, {"event_id": str(envelope.id), "kind": "concern"})

    def announce(envelope, uow):
        calls.append(envelope.id)
        # a read in the same unit sees the rows queued before it
        assert uow.session.execute(select(seen.c.event_id).where(seen.c.event_id == str(envelope.id))).first()
        uow.emit(SETTING, envelope.subject, sample(c.ConsentExpiryReminderDue), causationid=str(envelope.id))

    sink = MessageBus({r.ConcernRaised: [remember, announce]}).sink(transactions)
    first, second = concern(), concern()
    assert sink.ingest([first, first, second]) == IngestResult(stored=2, duplicates=1)
    assert sink.ingest([second]) == IngestResult(stored=0, duplicates=1)
    assert calls == [first.id, second.id]
    assert count(transactions, seen) == 2 and count(transactions, outbox) == 2 and count(transactions, processed) == 2
    assert len(transactions.commits) == 2


def test_an_event_with_no_entry_in_the_table_is_claimed_and_ignored(transactions):
    sink = MessageBus({r.ConcernRaised: []}).sink(transactions)
    registration = registered(uuid4())
    assert sink.ingest([registration]) == IngestResult(stored=1, duplicates=0)
    assert sink.ingest([registration]) == IngestResult(stored=0, duplicates=1)


def test_a_failing_handler_leaves_nothing_behind(transactions):
    def remember(envelope, uow):
        uow.add_row(seen, {"event_id": str(envelope.id), "kind": "x"})

    def fail(envelope, uow):
        raise ValueError("no")

    sink = MessageBus({r.ConcernRaised: [remember, fail]}).sink(transactions)
    with pytest.raises(ValueError):
        sink.ingest([concern()])
    assert count(transactions, seen) == 0 and count(transactions, processed) == 0


def test_the_handler_table_takes_event_classes_only():
    with pytest.raises(TypeError):
        MessageBus({"tac.referrals.concern_raised.v1": []})


def test_a_consumed_event_tells_its_handlers_where_it_came_from(transactions):
    origins = []
    sink = MessageBus({r.ConcernRaised: [lambda e, uow: origins.append(uow.consuming)]}).sink(transactions)
    message = Incoming(b"", b"k", "tac.referrals.v1", 3, 42, topics.REFERRALS)
    sink.ingest([Consumed(concern(), message)])
    assert origins == [message]


def test_an_event_is_refused_on_a_topic_whose_contract_it_is_not():
    assert misrouted_reason(topics.REFERRALS, r.ConcernRaised.TYPE) is None
    reason = misrouted_reason(topics.REFERRALS, c.ConsentGranted.TYPE)
    assert reason.startswith("event type tac.consent.consent_granted.v1 belongs on tac.consent.v1")
    assert "does not belong on the referrals topic" in reason
    raw = withdrawn(uuid4(), uuid4()).to_json_bytes()
    unchecked, checked = (Incoming(raw, None, "fresh-topic", 0, 0, source) for source in (None, topics.REFERRALS))
    assert len(parse_batch([unchecked]).valid) == 1
    assert "does not belong" in parse_batch([checked]).poison[0].reason


async def test_an_async_sink_is_awaited_and_counted():
    applied = []

    class Sink:
        async def ingest(self, batch):
            applied.extend(item.id for item in batch)
            return IngestResult(len(batch), 0)

    async def dead_letter(message, reason):
        raise AssertionError(reason)

    ingestor = BatchIngestor(Sink(), dead_letter)
    event = concern()
    await ingestor.ingest([Incoming(event.to_json_bytes(), None, "t", 0, 0, topics.REFERRALS)])
    assert applied == [event.id] and ingestor.applied == 1


def test_a_sink_may_give_each_event_its_own_transaction(transactions):
    def remember(envelope, uow):
        if envelope.id == doomed.id:
            raise ValueError("cannot")
        uow.add_row(seen, {"event_id": str(envelope.id), "kind": "x"})

    sink = MessageBus({r.ConcernRaised: [remember]}).sink(transactions, unit_per_event=True)
    kept, doomed = concern(), concern()
    with pytest.raises(ValueError):
        sink.ingest([kept, doomed])
    assert count(transactions, seen) == 1 and len(transactions.commits) == 1  # the first one committed
    assert sink.ingest([kept]) == IngestResult(stored=0, duplicates=1)
