"""Where the story waits for eventual consistency: a team join read back from the parent's
timeline, a notification read back from a person's inbox. Each service consumes the others'
events in its own time; the story goes on only when what it relies on has arrived."""

from __future__ import annotations

import time
from uuid import UUID

from demo.cast import ADA, CAST, Person
from demo.client import Api
from demo.story import Entry, Story


def joined(api: Api, story: Story, person: Person, *, before_request: bool = False, timeout_s: float = 30.0) -> None:
    """Add to the story the TeamMemberJoined that put `person`'s organisation on the team (the
    request or acceptance that caused it published it), read from the parent's timeline. A
    request that brings its addressee onto the team publishes the join first, so the addressee
    is on the team when the request reaches it (`before_request`: placed before the request)."""
    deadline = time.monotonic() + timeout_s
    by_key = {p.key: p for p in CAST}
    while True:
        timeline = api.call(ADA, "GET", "timeline", f"/children/{story.child_id}/timeline", params={"limit": 1000})
        for entry in timeline["entries"]:
            if entry["type"] == "tac.referrals.team_member_joined.v1" and \
                    entry["data"]["organisation_id"] == person.organisation_id:
                author = by_key[entry["author"]["practitioner_id"]]
                joined_entry = Entry(f"{person.team} joined the team", UUID(entry["event_id"]), author, "referral",
                                     joined_organisation_id=person.organisation_id)
                story.entries.insert(len(story.entries) - 1 if before_request else len(story.entries), joined_entry)
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{person.organisation} never joined the team around the child")
        time.sleep(0.2)


def told(api: Api, person: Person, story: Story, label: str, timeout_s: float = 120.0) -> None:
    """Wait until `person`'s inbox holds the entry `label` of the story."""
    about = str(next(e.event_id for e in story.entries if e.label == label))
    deadline = time.monotonic() + timeout_s
    # 503: the inbox is not answered while notifications' copy of consent is behind the topics
    # (its freshness gate); that is a moment to wait, like an item not there yet.
    while not any(item["about_event_id"] == about
                  for item in api.call(person, "GET", "notifications", "/inbox", params={"limit": 200},
                                       retry_on=(503,))["items"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{person.name} was never told of {label}")
        time.sleep(0.2)
