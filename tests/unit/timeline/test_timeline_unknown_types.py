"""An event of a type this build does not know becomes an entry that says something happened,
who did it and when, filed under its envelope's category, and nothing of its data; the
decision then treats it like any other entry of that category."""

from __future__ import annotations

import json
from uuid import uuid4

from consent_policy.decision import Viewer, decide
from consent_policy.state import ConsentState
from schemas import topics
from schemas.vocabulary import Agency
from services.common.incoming import Incoming, parse_batch
from services.timeline.domain.entries import CATEGORY_MAX_CHARS, entry_from_unknown
from tests.unit.timeline.timeline_builders import NOW, SLT, concern, stored_entry

NEW_TYPE = "tac.referrals.speech_screening_done.v1"


def _unknown(category: str = "concern"):
    body = json.loads(concern(uuid4(), SLT).to_json_bytes())
    body.update(type=NEW_TYPE, category=category, data={"secret": "what this build cannot judge"})
    [(_, envelope)] = parse_batch([Incoming(json.dumps(body).encode(), None, "t", 0, 0, topics.REFERRALS)]).valid
    return envelope


def test_an_unknown_type_is_an_entry_of_its_category_by_its_author_without_its_data():
    envelope = _unknown()
    entry = entry_from_unknown(envelope)
    assert (entry.event_type, entry.category, entry.author_organisation_id) == (NEW_TYPE, "concern",
                                                                                SLT.organisation_id)
    assert entry.payload == {} and NEW_TYPE in entry.summary and entry.answers_request_of is None
    assert entry.occurred_at == envelope.time


def test_its_author_sees_it_as_their_own_and_a_stranger_does_not_see_it():
    entry = stored_entry(entry_from_unknown(_unknown())).as_decision_entry()
    assert decide(Viewer("sam", SLT.organisation_id, Agency.SLT_SERVICE), entry, NOW, ConsentState()).basis == "own"
    assert not decide(Viewer("hana", "hv-north", Agency.HEALTH_VISITING), entry, NOW, ConsentState()).permitted


def test_a_category_too_long_to_store_is_clipped_and_never_becomes_a_known_one():
    entry = entry_from_unknown(_unknown("concern" + "x" * 100))
    assert len(entry.category) == CATEGORY_MAX_CHARS
    parent = Viewer("mum", None, Agency.PARENT, children=frozenset({entry.child_id}))
    assert decide(parent, stored_entry(entry).as_decision_entry(), NOW, ConsentState()).code == "unknown_category"
