"""A timeline entry's "what happened" (services/web/timeline_words.py): each kind's words from
its data, the optional parts only when the data has them, and the API's summary for a kind the
page does not know."""

from __future__ import annotations

import pytest

from services.web.timeline_words import Names, describe


class _Directory:
    def name_of(self, organisation_id: str) -> str | None:
        return {"org-a": "Acorn Nursery", "org-b": "Riverside SLT"}.get(organisation_id)


def _entry(kind: str, data: dict, author: str = "org-b", version: str = "v1") -> dict:
    return {"type": f"tac.referrals.{kind}.{version}", "data": data, "author": {"organisation_id": author},
            "summary": "The API's summary"}


@pytest.mark.parametrize(("kind", "data", "words"), [
    ("child_registered", {"setting_organisation_id": "org-a"}, "Registered with Acorn Nursery"),
    ("concern_raised", {"areas_of_need": ["cognition_and_learning"], "summary": "Few words"},
     "Concern raised (cognition and learning): Few words"),
    ("concern_raised", {"areas_of_need": [], "summary": "Few words", "evidence": "Seen daily"},
     "Concern raised (): Few words Evidence: Seen daily"),
    ("referral_accepted", {"requested_by_organisation_id": "org-a"},
     "Riverside SLT accepted the referral from Acorn Nursery"),
    ("team_member_joined", {"organisation_id": "org-b", "joined_through": "referral_accepted"},
     "Riverside SLT joined the team (accepted a referral)"),
    ("team_member_joined", {"organisation_id": "org-b", "joined_through": "unheard_of"}, "Riverside SLT joined the team"),
    ("team_member_left", {"organisation_id": "org-b"}, "Riverside SLT left the team"),
    ("invitation_sent", {"organisation_id": "org-b", "message": "Please join"},
     "Riverside SLT invited to join the team: “Please join”"),
    ("key_person_named", {"buddy_id": "p2"}, "Key person named with a buddy for when they are away"),
    ("key_person_named", {}, "Key person named"),
    ("transition_to_school_completed", {"school_organisation_id": "org-x", "completed_on": "2027-09-03"},
     "Started at An organisation not in the directory on 3 September 2027"),
    ("referral_withdrawn", {"reason": "Moved {away}"}, "Referral withdrawn: Moved {away}"),
    ("something_new", {}, "The API's summary"),
])
def test_each_kind_is_said_in_words(kind: str, data: dict, words: str) -> None:
    assert describe(_entry(kind, data), Names(_Directory())) == words  # type: ignore[arg-type]


def test_a_newer_version_of_a_known_kind_is_said_by_the_apis_summary_not_with_blanks() -> None:
    # A newer producer's team_member_left.v2, stored by the timeline as a placeholder: no data.
    entry = _entry("team_member_left", {}, version="v2")
    assert describe(entry, Names(_Directory())) == "The API's summary"  # type: ignore[arg-type]
