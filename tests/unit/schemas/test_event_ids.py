"""New events' ids are time-ordered (UUIDv7, RFC 9562): the stores' indexes keyed by event id
grow at one edge (schemas.envelope.new_event_id says why)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from uuid import UUID, uuid4

from schemas.catalogue import make_envelope, parse_event
from schemas.envelope import new_event_id
from schemas.events.referrals import ConcernRaised


def _millis(event_id: UUID) -> int:
    return event_id.int >> 80  # RFC 9562 §5.7: unix_ts_ms, the first 48 bits


def test_a_new_event_id_is_a_version_7_uuid_carrying_the_time_it_was_made():
    before = time.time_ns() // 1_000_000
    event_id = new_event_id()
    after = time.time_ns() // 1_000_000
    assert type(event_id) is UUID and event_id.version == 7 and event_id.variant == "specified in RFC 4122"
    assert before <= _millis(event_id) <= after


def test_ids_made_later_sort_later_as_uuids_and_as_the_text_the_stores_keep():
    made = []
    for _ in range(20):
        made.append(new_event_id())
        time.sleep(0.002)  # a later millisecond: within one, the order is random
    assert sorted(made) == made
    assert sorted(str(i) for i in made) == [str(i) for i in made]


def test_an_envelope_gets_one_unless_given_its_own_and_a_reader_takes_either(examples, practitioner, child_id):
    concern = examples[ConcernRaised.TYPE]
    made = make_envelope(concern, subject=child_id, actor=practitioner, source="/tac/referrals")
    assert made.id.version == 7
    assert abs(_millis(made.id) - made.time.timestamp() * 1000) < 1_000

    older = uuid4()  # events stored before ids were time-ordered, and other producers' events
    given = make_envelope(concern, subject=child_id, actor=practitioner, source="/tac/referrals", event_id=older,
                          time=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert given.id == older
    assert parse_event(given.to_json_bytes(), reading=True).id == older
