"""bench/chaos's pure parts: the events it puts straight onto the topics, and the consent state
it judges a message by (what had been published when the message was made)."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import uuid4

from bench.chaos.checks import Checker, Record, TopicRead, _merge
from bench.chaos.driver import DIRECT_TYPES, Child, Workload, parent_of
from consent_policy.decision import decide
from consent_policy.records import Entry, Viewer
from consent_policy.state import ConsentState
from schemas import topics
from schemas.catalogue import parse_event
from schemas.vocabulary import Agency, Category
from tests.unit.notifications.builders import EP, NOW, consent_granted, consent_withdrawn, team_joined


def test_every_direct_event_type_is_built_and_each_event_is_valid_with_its_own_id():
    workload = Workload(api=None, receivers_url=lambda path: path, rng=random.Random(7))
    workload.children = [Child(i, uuid4(), False, parent_of(i)) for i in range(5)]
    events = [workload.direct_event() for _ in range(600)]
    assert {e.type for e in events} == {cls.TYPE for cls in DIRECT_TYPES}
    assert len({e.id for e in events}) == len(events)
    for event in events:
        assert parse_event(event.to_json_bytes()).id == event.id  # strict: the contract holds


def _checker(*envelopes_at) -> Checker:
    records = [Record(str(e.id), e.type, str(e.subject), at, e) for e, at in envelopes_at]
    read = TopicRead(records={topics.REFERRALS.name: [r for r in records if r.type.startswith("tac.referrals")],
                              topics.CONSENT.name: [r for r in records if r.type.startswith("tac.consent")]})
    return Checker(read, urls={}, direct_ids=set(), mails=[], hooks=[], parents={}, practitioners={})


def test_a_message_is_judged_on_what_had_been_published_when_it_was_made():
    child = uuid4()
    grant = consent_granted(child, orgs=(EP,), categories=(Category.CONCERN,))
    withdrawal = consent_withdrawn(child, grant.data.consent_id)
    checker = _checker((team_joined(child, EP), 10.0), (grant, 20.0), (withdrawal, 30.0))
    viewer = Viewer("ep-1", EP, Agency.EP_SERVICE)
    entry = Entry(uuid4(), child, "sunflower-nursery", Category.CONCERN.value)
    now = NOW + timedelta(minutes=1)

    assert not decide(viewer, entry, now, checker.state_at(str(child), 15.0)).permitted  # no consent yet
    assert decide(viewer, entry, now, checker.state_at(str(child), 25.0)).permitted
    assert not decide(viewer, entry, now, checker.state_at(str(child), 30.0)).permitted  # withdrawn by then


def test_merging_two_folds_is_the_fold_of_all_their_events():
    child = uuid4()
    team, grant = team_joined(child, EP), consent_granted(child, orgs=(EP,))
    merged = _merge(ConsentState.from_events([team]), ConsentState.from_events([grant]))
    assert merged == ConsentState.from_events([team, grant])
    assert merged != ConsentState.from_events([team])
