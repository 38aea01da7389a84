"""Ingest and paging without a broker or a database: the store and the dead-letter sink are
swapped for whole fakes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import consent as c
from schemas.events import referrals as r
from consent_policy.decision import Viewer, decide
from consent_policy.state import ConsentState
from services.timeline.domain.reading import Cursor, EntryKind
from services.timeline.domain.entries import ShownEntry, Source, entry_from_envelope
from services.common.pipeline import BatchIngestor
from services.common.incoming import Incoming, parse_batch
from services.timeline.service_layer.reads import narrowing_chunks, page_of
from services.common.messagebus import IngestResult
from schemas.vocabulary import Category
from tests.unit.timeline.timeline_builders import (
    HV, NOW, PARENT, SETTING, SLT, concern, envelope, granted_payload, joined, registered, sample, stored,
)


def message(value: bytes | None, source: str = Source.REFERRALS, offset: int = 0) -> Incoming:
    return Incoming(value=value, key=b"k", topic=f"tac.{source}.v1", partition=0, offset=offset, source=source)


# -- parsing -----------------------------------------------------------------------------------


def test_a_batch_is_split_into_valid_events_in_order_and_poison_with_reasons():
    child = uuid4()
    first, second = concern(child), concern(child)
    batch = [
        message(first.to_json_bytes(), offset=0),
        message(b"{not json", offset=1),
        message(None, offset=2),
        message(b'{"type": "tac.referrals.no_such_thing.v1"}', offset=3),
        message(envelope(sample(c.ConsentWithdrawn), child).to_json_bytes(), offset=4),
        message(first.to_json_bytes().replace(b'"communication_and_interaction"', b'"bravery"'), offset=5),
        message(second.to_json_bytes(), offset=6),
    ]
    parsed = parse_batch(batch)
    assert [env.id for _, env in parsed.valid] == [first.id, second.id]
    reasons = {p.message.offset: p.reason for p in parsed.poison}
    assert reasons[1].startswith("malformed JSON")
    assert reasons[2] == "empty message value"
    assert reasons[3].startswith("unknown event type 'tac.referrals.no_such_thing.v1'")
    assert "does not belong on the referrals topic" in reasons[4]
    assert reasons[5].startswith("event violates its schema") and "data.areas_of_need.0" in reasons[5]


# -- ingesting ---------------------------------------------------------------------------------


class Transient(Exception):
    pass


class FakeStore:
    """Stores by event id; fails as scripted: `fail_times` transient failures first, and
    `poison_ids` fail permanently whenever they are in the batch."""

    def __init__(self, *, fail_times: int = 0, poison_ids=()):
        self.stored: dict = {}
        self.calls = 0
        self.fail_times = fail_times
        self.poison_ids = set(poison_ids)

    def ingest(self, envelopes):
        self.calls += 1
        if self.fail_times:
            self.fail_times -= 1
            raise Transient("database is restarting")
        if any(e.id in self.poison_ids for e in envelopes):
            raise ValueError("value too long for type character varying(64)")
        stored = 0
        for e in envelopes:
            if e.id not in self.stored:
                self.stored[e.id] = e
                stored += 1
        return IngestResult(stored, len(envelopes) - stored)


class FakeDeadLetter:
    def __init__(self, *, fail_times: int = 0):
        self.parked: list[tuple[int, str]] = []
        self.fail_times = fail_times

    async def __call__(self, message: Incoming, reason: str) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("broker away")
        self.parked.append((message.offset, reason))


def ingestor(store, dead_letter) -> BatchIngestor:
    return BatchIngestor(store, dead_letter, is_transient=lambda e: isinstance(e, Transient),
                         initial_backoff_s=0.001, max_backoff_s=0.002)


async def test_a_batch_is_stored_once_even_when_it_holds_the_same_event_twice():
    child = uuid4()
    event = concern(child)
    store, dlq = FakeStore(), FakeDeadLetter()
    worker = ingestor(store, dlq)
    await worker.ingest([message(event.to_json_bytes(), offset=0), message(event.to_json_bytes(), offset=1)])
    await worker.ingest([message(event.to_json_bytes(), offset=2)])
    assert list(store.stored) == [event.id]
    assert (worker.stats.stored, worker.stats.duplicates, dlq.parked) == (1, 2, [])


async def test_while_the_database_is_away_the_batch_waits_and_is_stored_when_it_returns():
    events = [concern(uuid4()) for _ in range(3)]
    store, dlq = FakeStore(fail_times=4), FakeDeadLetter()
    await ingestor(store, dlq).ingest([message(e.to_json_bytes(), offset=i) for i, e in enumerate(events)])
    assert set(store.stored) == {e.id for e in events}
    assert store.calls == 5 and dlq.parked == []


async def test_an_event_that_can_never_be_stored_is_parked_and_the_rest_of_its_batch_is_stored():
    events = [concern(uuid4()) for _ in range(4)]
    bad = events[2]
    store, dlq = FakeStore(poison_ids=[bad.id]), FakeDeadLetter()
    await ingestor(store, dlq).ingest([message(e.to_json_bytes(), offset=i) for i, e in enumerate(events)])
    assert set(store.stored) == {e.id for e in events} - {bad.id}
    assert [offset for offset, _ in dlq.parked] == [2]
    assert dlq.parked[0][1].startswith("could not be stored after 3 attempts") and "varying(64)" in dlq.parked[0][1]


async def test_a_poison_message_is_parked_even_when_the_dead_letter_topic_fails_at_first():
    store, dlq = FakeStore(), FakeDeadLetter(fail_times=3)
    valid = concern(uuid4())
    worker = ingestor(store, dlq)
    await worker.ingest([message(b"\x00\x01", offset=7), message(valid.to_json_bytes(), offset=8)])
    assert [offset for offset, _ in dlq.parked] == [7]
    assert list(store.stored) == [valid.id] and worker.stats.dead_lettered == 1


async def test_a_cancelled_ingest_is_not_reported_as_done():
    store, dlq = FakeStore(fail_times=10**6), FakeDeadLetter()
    task = asyncio.create_task(ingestor(store, dlq).ingest([message(concern(uuid4()).to_json_bytes())]))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.stored == {} and dlq.parked == []


# -- paging ------------------------------------------------------------------------------------


def newest_first(entries):
    return sorted(entries, key=lambda e: (e.occurred_at, str(e.event_id)), reverse=True)


def chunks_of(entries, before, size):
    """What TimelineStore.entry_chunks yields, over a list."""
    rows = [e for e in newest_first(entries)
            if before is None or (e.occurred_at, str(e.event_id)) < (before.occurred_at, str(before.event_id))]
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


SLT_VIEWER = Viewer("sam", SLT.organisation_id, SLT.agency)


def test_no_next_page_is_offered_when_only_hidden_entries_are_older():
    child = uuid4()
    own = [stored(concern(child, SLT, time=NOW - timedelta(minutes=i))) for i in range(3)]
    hidden = [stored(concern(child, SETTING, time=NOW - timedelta(hours=1, minutes=i))) for i in range(5)]
    shown, next_before = page_of(SLT_VIEWER, chunks_of(own + hidden, None, 2), limit=3, now=NOW, state=ConsentState())
    assert [s.entry for s in shown] == own and next_before is None


def test_a_next_page_is_offered_when_another_visible_entry_follows():
    child = uuid4()
    own = [stored(concern(child, SLT, time=NOW - timedelta(minutes=i))) for i in range(4)]
    shown, next_before = page_of(SLT_VIEWER, chunks_of(own, None, 500), limit=3, now=NOW, state=ConsentState())
    assert [s.entry for s in shown] == own[:3] and next_before == Cursor.after(own[2])


@settings(max_examples=60, deadline=None)
@given(
    authors=st.lists(st.sampled_from(["own", "other"]), max_size=40),
    same_time=st.lists(st.booleans(), max_size=40),
    limit=st.integers(min_value=1, max_value=7),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_walking_the_pages_shows_every_visible_entry_once_newest_first_and_no_empty_page(authors, same_time, limit,
                                                                                        chunk):
    child = uuid4()
    entries, at = [], NOW
    for author, tie in zip(authors, same_time + [False] * len(authors)):
        at = at if tie else at - timedelta(seconds=1)  # ties in time are ordered by event id
        entries.append(stored(concern(child, SLT if author == "own" else SETTING, time=at)))
    visible = [e for e in newest_first(entries) if e.author_organisation_id == SLT.organisation_id]

    walked, before, pages = [], None, 0
    while True:
        shown, before = page_of(SLT_VIEWER, chunks_of(entries, before, chunk), limit=limit, now=NOW,
                                state=ConsentState())
        pages += 1
        assert shown or pages == 1, "a next_before led to an empty page"
        assert len(shown) <= limit
        walked += [s.entry for s in shown]
        if before is None:
            break
    assert walked == visible


_AUTHORS = {"setting": SETTING, "slt": SLT, "hv": HV, "parent": PARENT}


@settings(max_examples=60, deadline=None)
@given(
    written=st.lists(st.tuples(st.sampled_from(sorted(_AUTHORS)), st.sampled_from(["concern", "observation",
                                                                                   "answer"])), max_size=30),
    consented=st.booleans(),
    reader=st.sampled_from([SLT, SETTING]),
    limit=st.integers(min_value=1, max_value=7),
    first_size=st.integers(min_value=1, max_value=9),
)
def test_narrowing_to_the_kinds_permitted_shows_the_very_same_pages(written, consented, reader, limit, first_size):
    """After a first chunk that hid an entry, a read fetches only the kinds of entry permitted
    (services.timeline.service_layer.reads.narrowing_chunks): its pages show, between them,
    exactly the entries that deciding each entry on its own permits, on the same basis, newest
    first."""
    child = uuid4()
    made = {"concern": lambda: sample(r.ConcernRaised), "observation": lambda: sample(r.ParentObservationShared),
            "answer": lambda: sample(r.ReferralAccepted)}
    entries = [stored(envelope(made[what](), child, _AUTHORS[who], time=NOW - timedelta(seconds=i)))
               for i, (who, what) in enumerate(written)]
    state = ConsentState.from_events([
        registered(child), joined(child, SLT.organisation_id, SLT.agency),
        *([envelope(granted_payload(agencies=(SLT.agency,), categories=(Category.PROGRESS,)), child)]
          if consented else [])])
    viewer = Viewer(reader.practitioner_id, reader.organisation_id, reader.agency)
    # Each entry decided on its own: what the pages must show between them, newest first.
    expected = [ShownEntry(e, d.basis) for e in newest_first(entries)
                if (d := decide(viewer, e.as_decision_entry(), NOW, state)).permitted]

    def fetch(after, size, kinds):  # what TimelineStore.entry_chunks yields, over a list
        assert size >= 1
        wanted = None if kinds is None else set(kinds)
        return chunks_of(entries if wanted is None else [e for e in entries if EntryKind.of(e) in wanted], after, size)

    walked, before = [], None
    while True:
        decided = {}
        chunks = narrowing_chunks(fetch, lambda: {EntryKind.of(e) for e in entries}, viewer, before=before,
                                  size=limit + 1, now=NOW, state=state, decided=decided, first_size=first_size)
        shown, before = page_of(viewer, chunks, limit=limit, now=NOW, state=state, decided=decided)
        assert shown or not walked, "a next_before led to an empty page"
        assert len(shown) <= limit
        walked += shown
        if before is None:
            break
    assert walked == expected


def test_the_summary_of_a_registration_names_the_setting():
    entry = entry_from_envelope(envelope(r.ChildRegistered(setting_organisation_id="acorns"), uuid4()))
    assert entry.summary == "Child registered at setting acorns"
