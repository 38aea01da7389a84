"""Tolerant readers and fail-closed holds (issues 14 and 16), without a broker: an event of an
unknown type is handed to the handler table (stored, or skipped and counted); a message that may
restrict access and cannot be applied holds the child in the service's consent copy, and a
message that can never parse is still dead-lettered."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID, uuid4

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData

from consent_policy.holds import MALFORMED, UNKNOWN_TYPE, Hold, held_children, restricts_access
from consent_policy.store import ConsentCopy
from schemas import topics
from schemas.events import referrals as r
from services.common.db import make_engine, make_session_factory
from services.common.idempotency import define_processed_events_table
from services.common.messagebus import Consumed, MessageBus, UnknownEvent
from services.common.outbox import define_outbox_table
from services.common.pipeline import BatchIngestor
from services.common.incoming import Incoming, parse_batch
from services.common.unit_of_work import UnitOfWorkFactory
from tests.unit.timeline.timeline_builders import NOW, concern, left, registered, withdrawn

metadata = MetaData()
copy = ConsentCopy(metadata)
processed = define_processed_events_table(metadata)
outbox = define_outbox_table(metadata)

NEW_TYPE = "tac.referrals.speech_screening_done.v1"
NEW_CONSENT_TYPE = "tac.consent.consent_paused.v1"


@pytest.fixture
def transactions(tmp_path):
    # A file, not ":memory:": the ingestor applies in worker threads, each with its own connection.
    engine = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    metadata.create_all(engine)
    yield UnitOfWorkFactory(make_session_factory(engine), clock=lambda: NOW, outbox=outbox, processed=processed,
                            source="/test")
    engine.dispose()


def _renamed(envelope, new_type: str) -> bytes:
    body = json.loads(envelope.to_json_bytes())
    body["type"] = new_type
    return json.dumps(body).encode()


def _message(value: bytes, key: bytes | None, source=topics.CONSENT, offset: int = 7) -> Incoming:
    return Incoming(value, key, source.name, 2, offset, source)


def _unknown(child: UUID, new_type: str, source) -> Consumed:
    [(message, envelope)] = parse_batch([_message(_renamed(concern(child), new_type), str(child).encode(), source)]).valid
    return Consumed(envelope, message)


def _skipped(service: str, event_type: str) -> float:
    return REGISTRY.get_sample_value("tac_unknown_event_types_skipped_total",
                                     {"service": service, "type": event_type}) or 0.0


def _held(transactions, child: UUID):
    with transactions.sessions() as session:
        return copy.state_for(session, child), copy.open_holds(session)


# -- the handler table -------------------------------------------------------------------------


def test_a_table_without_an_unknown_entry_claims_skips_and_counts_an_unknown_type(transactions):
    bus = MessageBus({r.ConcernRaised: [lambda e, uow: pytest.fail("not a concern")]}, service="unit-skip",
                     consent_copy=copy)
    item = _unknown(uuid4(), NEW_TYPE, topics.REFERRALS)
    before = _skipped("unit-skip", NEW_TYPE)
    first = bus.sink(transactions).ingest([item])
    again = bus.sink(transactions).ingest([item])
    assert (first.stored, again.duplicates) == (1, 1)  # claimed by id like any other event
    assert _skipped("unit-skip", NEW_TYPE) == before + 1
    assert _held(transactions, item.envelope.subject)[1] == []  # not a team event: holds nothing


def test_a_table_with_an_unknown_entry_hands_the_generic_envelope_to_its_handlers(transactions):
    got = []
    bus = MessageBus({UnknownEvent: [lambda e, uow: got.append((e.type, e.category, e.actor.organisation_id))]},
                     consent_copy=copy)
    item = _unknown(uuid4(), NEW_TYPE, topics.REFERRALS)
    bus.sink(transactions).ingest([item])
    assert got == [(NEW_TYPE, item.envelope.category, item.envelope.actor.organisation_id)]


def test_an_unknown_type_on_the_consent_topic_holds_its_child_once(transactions):
    child = uuid4()
    bus = MessageBus({}, service="unit-hold", consent_copy=copy)
    item = _unknown(child, NEW_CONSENT_TYPE, topics.CONSENT)
    bus.sink(transactions).ingest([item])
    bus.sink(transactions).ingest([item])  # redelivered: claimed already, no second hold
    state, holds = _held(transactions, child)
    assert state.is_held(child) and not state.is_held(uuid4())
    assert [(h["child_id"], h["why"], h["event_type"], h["offset"]) for h in holds] == [
        (str(child), UNKNOWN_TYPE, NEW_CONSENT_TYPE, 7)]


def test_a_bus_that_cannot_hold_refuses_an_unknown_consent_type_rather_than_skip_it(transactions):
    with pytest.raises(RuntimeError, match="no consent_copy"):
        MessageBus({}).sink(transactions).ingest([_unknown(uuid4(), NEW_CONSENT_TYPE, topics.CONSENT)])


# -- which messages hold -------------------------------------------------------------------------


@pytest.mark.parametrize("source, event_type, parsed, holds", [
    (topics.CONSENT, None, False, True),  # unparseable on the consent topic
    (topics.CONSENT, NEW_CONSENT_TYPE, True, True),  # a new consent type may restrict access
    (topics.REFERRALS, r.TeamMemberLeft.TYPE, False, True),  # a broken team event
    (topics.REFERRALS, None, False, True),  # unreadable: it may have been a team event
    (topics.REFERRALS, r.ConcernRaised.TYPE, False, False),  # a broken case fact: dead-letter only
    (topics.REFERRALS, NEW_TYPE, True, False),  # a new type that is no version of a team event
    # A new version of a team event the decision folds, parsed or not: it may be a leave.
    ("referrals", "tac.referrals.team_member_left.v2", True, True),
    ("referrals", "tac.referrals.team_member_joined.v3", False, True),
    ("referrals", "tac.referrals.child_registered.v2", True, True),
    ("referrals", "tac.referrals.concern_raised.v2", True, False),
    (None, None, False, False),  # the consumer did not say what the topic carries
])
def test_which_unapplied_messages_hold_a_child(source, event_type, parsed, holds):
    source = topics.REFERRALS if source == "referrals" else source
    assert restricts_access(source, event_type, parsed=parsed) is holds


def test_the_held_child_is_the_subject_and_the_key_too_when_it_names_another_child_else_every_child():
    child, other = uuid4(), uuid4()
    assert held_children(str(child).encode(), json.dumps({"subject": str(child)})) == (child,)
    # The key disagrees with the subject: which one is right cannot be told, so both are held.
    assert held_children(str(child).encode(), json.dumps({"subject": str(other)})) == (other, child)
    assert held_children(b"not-a-child", json.dumps({"subject": str(other)})) == (other,)
    assert held_children(str(child).encode(), b"", (("ce_subject", str(other).encode()),)) == (other, child)
    assert held_children(str(child).encode(), b"\xff garbage") == (child,)
    assert held_children(b"not-a-child", b"\xff garbage") == (None,)


def test_a_message_whose_key_and_subject_disagree_holds_both_children(transactions):
    child, other = uuid4(), uuid4()
    [poison] = parse_batch([_message(json.dumps({"type": "tac.consent.consent_withdrawn.v1",
                                                 "subject": str(other)}).encode(), str(child).encode())]).poison
    assert [h.child_id for h in poison.holds] == [other, child]
    MessageBus({}, consent_copy=copy).sink(transactions).hold(poison.holds)
    MessageBus({}, consent_copy=copy).sink(transactions).hold(poison.holds)  # redelivered: held once each
    assert sorted(h["child_id"] for h in _held(transactions, child)[1]) == sorted([str(child), str(other)])


def test_a_hold_says_why():
    with pytest.raises(ValueError, match="why"):
        Hold(child_id=None, why="because", reason="x", held_at=NOW)


# -- the pipeline ------------------------------------------------------------------------------


def test_a_message_that_can_never_parse_on_the_consent_topic_is_poison_with_a_hold():
    child = uuid4()
    [poison] = parse_batch([_message(b'{"type": "tac.consent.consent_withdrawn.v1", "id": 1', str(child).encode())]).poison
    assert "malformed JSON" in poison.reason
    [hold] = poison.holds
    assert (hold.child_id, hold.why, hold.topic, hold.offset) == (child, MALFORMED, topics.CONSENT.name, 7)


def test_a_broken_event_with_no_child_id_holds_every_child():
    [poison] = parse_batch([_message(b"", b"key-that-is-no-child")]).poison
    assert poison.reason == "empty message value" and [h.child_id for h in poison.holds] == [None]


def test_a_broken_case_fact_and_a_misrouted_event_are_parked_without_a_hold():
    child = uuid4()
    broken = json.loads(concern(child).to_json_bytes())
    broken["data"]["summary"] = ""
    misrouted = _message(withdrawn(child, uuid4()).to_json_bytes(), str(child).encode(), topics.REFERRALS)
    parsed = parse_batch([_message(json.dumps(broken).encode(), str(child).encode(), topics.REFERRALS), misrouted])
    assert len(parsed.poison) == 2 and [p.holds for p in parsed.poison] == [(), ()]


def test_the_ingestor_holds_the_child_then_dead_letters_the_message(transactions):
    child = uuid4()
    parked = []

    async def dead_letter(message, reason):
        # the hold is already recorded when the message is parked (and so before the ack)
        assert _held(transactions, child)[0].is_held(child)
        parked.append((message.offset, reason))

    broken_leave = json.loads(left(child, "nhs-slt-north").to_json_bytes())
    broken_leave["data"]["organisation_id"] = ""
    ingestor = BatchIngestor(MessageBus({}, consent_copy=copy).sink(transactions), dead_letter)
    good = registered(child)
    asyncio.run(ingestor.ingest([
        _message(json.dumps(broken_leave).encode(), str(child).encode(), topics.REFERRALS, offset=1),
        _message(good.to_json_bytes(), str(child).encode(), topics.REFERRALS, offset=2),
    ]))
    assert [offset for offset, _ in parked] == [1] and "organisation_id" in parked[0][1]
    assert ingestor.stats.stored == 1  # the rest of the batch still flows
    [hold] = _held(transactions, child)[1]
    assert (hold["why"], hold["event_type"], hold["offset"]) == (MALFORMED, r.TeamMemberLeft.TYPE, 1)


def test_a_sink_that_cannot_hold_still_dead_letters(transactions, caplog):
    parked = []

    async def dead_letter(message, reason):
        parked.append(reason)

    class Plain:
        def ingest(self, batch):
            raise AssertionError("nothing valid here")

    asyncio.run(BatchIngestor(Plain(), dead_letter).ingest([_message(b"{", str(uuid4()).encode())]))
    assert len(parked) == 1 and "consent hold not recorded" in caplog.text


# -- which unknown types are a newer producer's, and which are malformed -----------------------


@pytest.mark.parametrize("new_type, source", [
    ("tac.referrals.speech_screening_done.v1", topics.REFERRALS),
    ("tac.referrals.team_member_left.v2", topics.REFERRALS),
    ("tac.consent.consent_paused.v12", topics.CONSENT),
])
def test_a_type_named_like_the_catalogues_and_of_its_topic_is_read(new_type, source):
    child = uuid4()
    parsed = parse_batch([_message(_renamed(concern(child), new_type), str(child).encode(), source)])
    assert [e.type for _, e in parsed.valid] == [new_type] and parsed.poison == []


@pytest.mark.parametrize("new_type, source, why, held", [
    ("made_up", topics.REFERRALS, "is not a TAC event type", False),
    ("tac.referrals.Speech-Screening.v1", topics.REFERRALS, "is not a TAC event type", False),
    ("tac.referrals.speech_screening_done", topics.REFERRALS, "is not a TAC event type", False),
    ("tac.referrals." + "x" * 200 + ".v1", topics.REFERRALS, "at most 120 characters", False),
    ("tac.consent.consent_paused.v1", topics.REFERRALS, "does not belong to the topic", False),
    ("tac.referrals.speech_screening_done.v1", topics.CONSENT, "does not belong to the topic", True),
    ("garbage\nwith a line break", topics.CONSENT, "is not a TAC event type", True),
])
def test_any_other_unknown_type_is_malformed_and_on_the_consent_topic_holds(new_type, source, why, held):
    child = uuid4()
    [poison] = parse_batch([_message(_renamed(concern(child), new_type), str(child).encode(), source)]).poison
    assert why in poison.reason and len(poison.reason) < 400
    assert [h.child_id for h in poison.holds] == ([child] if held else [])
