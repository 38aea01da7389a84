"""The notifications handler table against the rules it replaced: every event the decision folds
is kept, every event that sets or cancels a reminder does so, and exactly the events that are
not announced go unannounced."""

from __future__ import annotations

from uuid import uuid4

import pytest

from schemas.events import consent as c
from schemas.events import referrals as r
from consent_policy.state import FOLDED_TYPES
from services.notifications.domain.recipients import NOT_ANNOUNCED
from services.notifications.domain.reminders import cancellations, reminders_for
from services.notifications.service_layer.handlers import (
    Outputs, cancel_reminders, handler_table, keep_consent_state, schedule_reminders,
)
from tests.unit.timeline.timeline_builders import envelope, sample

TABLE = handler_table(Outputs("https://tac.example.test", "t", email_enabled=True))
EVENTS = [*r.EVENTS, *c.EVENTS]


def names(event_class) -> list[str]:
    return [getattr(h, "__name__", None) or h.func.__name__ for h in TABLE[event_class]]


def test_every_consumed_event_has_a_row_in_the_table():
    assert set(TABLE) == set(EVENTS)


@pytest.mark.parametrize("event_class", EVENTS, ids=lambda e: e.__name__)
def test_each_row_does_what_the_event_calls_for(event_class):
    event = envelope(sample(event_class), uuid4())
    row = names(event_class)
    assert (keep_consent_state.__name__ in row) == (event.type in FOLDED_TYPES)
    assert ("announce_entry" in row) == (event.type not in NOT_ANNOUNCED)
    if reminders_for(event):
        assert schedule_reminders.__name__ in row
    if cancellations(event):
        assert cancel_reminders.__name__ in row
    if keep_consent_state.__name__ in row:
        assert row[0] == keep_consent_state.__name__  # the state first: the announcement decides on it
