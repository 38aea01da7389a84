"""SCENARIO.md end to end: HTTP in, Kafka between the services, HTTP and Kafka out."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from demo.cast import ADA, CAST, DANA, GRACE, HALL, HANNAH, JO, KIT, LEE, MARIA, PRIYA, SAM, TOM
from demo.expectations import expected_basis, may_be_notified


def _entry(run, label):
    return next(e for e in run.story.entries if e.label == label)


def test_every_entry_is_visible_to_every_person_exactly_when_consent_allows_with_the_right_basis(story_run):
    assert story_run.observed.problems == []
    for person in CAST:
        seen = story_run.observed.seen[person.key]
        for entry in story_run.story.entries:
            assert seen.get(entry.event_id) == expected_basis(person, entry, story_run.story), (person.name, entry.label)


def test_a_withdrawal_takes_the_slt_report_away_from_the_health_visitor_and_from_nobody_else(story_run):
    report = _entry(story_run, "SLT report shared")
    seen = story_run.observed.seen
    assert report.event_id not in seen[GRACE.key]
    assert seen[SAM.key][report.event_id] == "own"
    assert seen[LEE.key][report.event_id] == f"consent:{story_run.story.consents['C2']}"
    assert seen[ADA.key][report.event_id] == "parent"


def test_organisations_no_consent_names_see_only_their_own_entries(story_run):
    assert set(story_run.observed.seen[JO.key].values()) == {"own"}  # Jo's family support offer
    # The school joined through Priya's transition plan and has written nothing yet.
    assert set(story_run.observed.seen[HALL.key].values()) <= {"own"}


def test_the_setting_sees_the_answers_to_its_own_requests_as_own_request(story_run):
    for label in ("area SENCO referral accepted", "SLT referral accepted", "EHC assessment started"):
        event_id = _entry(story_run, label).event_id
        for person in (PRIYA, TOM, HANNAH):
            assert story_run.observed.seen[person.key][event_id] == "own_request", (person.name, label)


def test_the_setting_sees_what_the_consent_naming_it_shares_back(story_run):
    report = _entry(story_run, "SLT report shared")
    assert story_run.observed.seen[PRIYA.key][report.event_id] == f"consent:{story_run.story.consents['C1s']}"


def test_a_stranger_of_the_kind_a_consent_names_is_refused_everywhere_and_sees_nothing(story_run):
    """Step 13: Kit's area SENCO team is of the kind consent C1a names, but not on Amara's team."""
    assert story_run.observed.seen[KIT.key] == {}
    lines = story_run.story.stranger_refusals
    assert len(lines) >= 7
    assert all("ALLOWED" not in line and "DIFFERS" not in line for line in lines), lines
    assert not any(s["data"]["recipient_id"] == KIT.key for s in story_run.notifications_sent)


def test_nobody_was_notified_of_an_entry_they_could_not_see_when_it_was_sent(story_run):
    """Checked on the bus (NotificationSent), not through the inbox, which filters at read time.
    Before step 11 the health-visiting consent C1c (with `slt`) was in force."""
    story = story_run.story
    by_key = {p.key: p for p in CAST}
    by_id = {str(e.event_id): e for e in story.entries}
    assert story_run.notifications_sent, "the story should notify someone"
    for sent in story_run.notifications_sent:
        person, entry = by_key[sent["data"]["recipient_id"]], by_id[sent["data"]["about_event_id"]]
        assert may_be_notified(person, entry, story), f"{person.name} was notified of {entry.label}"
        assert entry.author.organisation_id != person.organisation_id, "nobody is notified of their own entry"


def _recipients(run, label) -> set[str]:
    about = str(_entry(run, label).event_id)
    return {s["data"]["recipient_id"] for s in run.notifications_sent if s["data"]["about_event_id"] == about}


def test_team_members_hear_of_new_entries_they_may_see_and_the_parent_hears_of_everything(story_run):
    # Step 3: only the setting (the author) is in the team yet; the parent is told.
    assert _recipients(story_run, "concern raised") == {ADA.key}
    # Step 5: Dana has joined when Sam accepts; her consent covers `referral`. The nursery made
    # the referral: the answer is its own request's.
    assert _recipients(story_run, "SLT referral accepted") == {DANA.key, PRIYA.key, TOM.key, HANNAH.key, ADA.key}
    # Step 7: the health visitor's consent still covers `slt`; Dana's does not; the nursery's
    # consent C1s covers what is shared back.
    assert _recipients(story_run, "SLT report shared") == {GRACE.key, PRIYA.key, TOM.key, HANNAH.key, ADA.key}
    # Step 10: the assessment consent C2 covers every category for the SEN team and the EP.
    assert _recipients(story_run, "family support offered") == {MARIA.key, LEE.key, ADA.key}


def test_the_access_log_shows_each_read_with_who_and_on_what_basis(story_run):
    views = story_run.observed.access_log
    by_viewer = {}
    for view in views:
        by_viewer.setdefault(view["viewer"]["practitioner_id"], view)  # newest first
    for person in CAST:
        view = by_viewer[person.key]
        seen = story_run.observed.seen[person.key]
        assert view["entries_shown"] == len(seen)
        assert sum(view["bases"].values()) == len(seen)
        assert set(view["bases"]) == set(seen.values())


def test_the_ehc_clock_gives_the_statutory_dates(story_run):
    story = story_run.story
    ehc = story_run.observed.caseloads["maria"]
    received = story.ehc_received_on
    due = {d["kind"]: d["due_on"] for d in ehc["due_dates"]}
    assert due["ehc_decision_to_assess"] == (received + timedelta(weeks=6)).isoformat()   # reg. 5(1)
    assert due["ehc_notice_if_no_plan"] == (received + timedelta(weeks=16)).isoformat()   # reg. 10(1)
    assert due["ehc_final_plan"] == (received + timedelta(weeks=20)).isoformat()          # reg. 13(2)
    [advice] = ehc["advice"]
    decided_on = received + timedelta(weeks=5)
    assert advice["due_on"] == (decided_on + timedelta(weeks=6)).isoformat()              # reg. 8(1)


def test_caseloads_show_the_open_work_of_the_callers_organisation_only(story_run):
    dana = story_run.observed.caseloads["dana"]["items"]
    assert dana and all(UUID(str(i["child_id"])) == story_run.story.child_id for i in dana)
    assert {i["kind"] for i in dana} == {"referral"} and dana[0]["days_waiting"] == 0
    lee = story_run.observed.caseloads["lee"]["items"]
    assert any(i.get("kind") == "advice" for i in lee)
