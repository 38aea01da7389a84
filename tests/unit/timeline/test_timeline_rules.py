"""The timeline's pure rules: what becomes an entry and how it reads, who sees which entry on
what basis, who may read the access log, and paging that never hints at hidden entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from uuid import uuid4

import pytest

from schemas.events import audit
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category
from consent_policy.decision import Viewer
from consent_policy.state import FOLDED_TYPES, ConsentState
from services.timeline.domain.entries import (
    CONSENT_STATE_TYPES, SUMMARY_MAX_CHARS, TIMELINE_TYPES, Source, entry_from_envelope, summarise,
)
from services.timeline.domain.reading import (
    AccessRecord, Cursor, access_log_for_reader, may_read_access_log, visible_entries,
)
from services.common.incoming import misrouted_reason
from tests.unit.timeline.timeline_builders import (
    EP, HV, HV_ORG, NOW, PARENT, SETTING, SETTING_ORG, SLT, SLT_ORG, TIMELINE_EVENT_CLASSES, concern, envelope,
    granted_payload, joined, left, registered, safeguarding_payload, sample, stored, withdrawn,
)


def viewer(actor, children=()) -> Viewer:
    return Viewer(actor.practitioner_id, actor.organisation_id, actor.agency, frozenset(children))


def state_of(*envelopes) -> ConsentState:
    return ConsentState.from_events(envelopes)


# -- what becomes an entry, and how it reads ------------------------------------------------


@pytest.mark.parametrize("cls", TIMELINE_EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_timeline_event_type_reads_as_its_own_short_sentence(cls):
    text = summarise(sample(cls))
    assert text and text != cls.__name__
    assert len(text) <= SUMMARY_MAX_CHARS and "\n" not in text


def test_every_referral_event_and_the_three_consent_events_are_timeline_entries_and_nothing_else():
    assert TIMELINE_TYPES == {cls.TYPE for cls in TIMELINE_EVENT_CLASSES}
    assert c.SafeguardingAccessGranted.TYPE in CONSENT_STATE_TYPES
    assert c.SafeguardingAccessGranted.TYPE not in TIMELINE_TYPES
    assert c.ConsentExpiryReminderDue.TYPE not in TIMELINE_TYPES
    assert audit.TimelineViewed.TYPE not in TIMELINE_TYPES


def test_a_safeguarding_grant_and_its_justification_never_become_an_entry_the_family_could_read():
    grant = envelope(safeguarding_payload(organisation=HV_ORG), uuid4())
    with pytest.raises(ValueError, match="not a timeline entry"):
        entry_from_envelope(grant)


def test_a_consent_expiry_reminder_cannot_be_made_into_an_entry():
    with pytest.raises(ValueError, match="not a timeline entry"):
        entry_from_envelope(envelope(sample(c.ConsentExpiryReminderDue), uuid4()))


def test_a_long_multi_line_text_is_clipped_to_one_line():
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=["sensory_and_or_physical"],
                           summary="line one\nline two " + "x" * 3000)
    text = summarise(data)
    assert "\n" not in text and len(text) <= SUMMARY_MAX_CHARS and text.endswith("…")
    assert text.startswith("Concern raised (sensory and or physical): line one line two")


def test_an_entry_keeps_its_author_category_and_payload_and_its_time_in_utc():
    child = uuid4()
    plus_one = timezone(timedelta(hours=1))
    env = envelope(sample(r.SLTReportShared), child, SLT, time=NOW.astimezone(plus_one))
    entry = entry_from_envelope(env)
    assert (entry.event_id, entry.child_id, entry.event_type, entry.category) == (
        env.id, child, r.SLTReportShared.TYPE, "slt")
    assert (entry.author_practitioner_id, entry.author_organisation_id, entry.author_agency, entry.author_role) == (
        "sam", SLT_ORG, "slt_service", "slt")
    assert entry.occurred_at == NOW and entry.occurred_at.tzinfo == timezone.utc
    assert entry.payload["programme"] == "Daily play"
    assert entry.summary.startswith("Speech and language therapy report shared")


# -- who sees what ---------------------------------------------------------------------------


def test_a_parent_sees_every_entry_about_their_child_on_the_parent_basis():
    child = uuid4()
    entries = [stored(envelope(sample(cls), child)) for cls in TIMELINE_EVENT_CLASSES]
    shown = visible_entries(viewer(PARENT, [child]), entries, NOW, ConsentState())
    assert [s.entry for s in shown] == entries
    assert {s.basis for s in shown} == {"parent"}


def test_a_parent_of_another_child_sees_nothing():
    child = uuid4()
    entries = [stored(concern(child)), stored(envelope(sample(r.ChildRegistered), child))]
    assert visible_entries(viewer(PARENT, [uuid4()]), entries, NOW, ConsentState()) == []


def test_an_organisation_sees_its_own_entries_and_nothing_else_without_consent():
    child = uuid4()
    own = stored(concern(child, SLT))
    other = stored(concern(child, SETTING))
    shown = visible_entries(viewer(SLT), [other, own], NOW, ConsentState())
    assert [(s.entry, s.basis) for s in shown] == [(own, "own")]


def test_a_consent_shows_the_categories_it_covers_to_the_agencies_it_names_with_its_id_as_basis():
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN,)), child)
    consent_id = grant.data.consent_id
    covered = stored(concern(child))
    not_covered = stored(envelope(sample(r.EPAdviceShared), child, EP))
    state = state_of(grant, joined(child, SLT_ORG, Agency.SLT_SERVICE), joined(child, HV_ORG, Agency.HEALTH_VISITING))
    shown = visible_entries(viewer(SLT), [covered, not_covered], NOW, state)
    assert [(s.entry, s.basis) for s in shown] == [(covered, f"consent:{consent_id}")]
    assert visible_entries(viewer(HV), [covered, not_covered], NOW, state) == []


def test_after_a_withdrawal_the_entries_it_covered_are_hidden_but_the_viewers_own_remain():
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), child)
    on_team = joined(child, SLT_ORG, Agency.SLT_SERVICE)
    others = stored(concern(child))
    own = stored(concern(child, SLT))
    before = visible_entries(viewer(SLT), [others, own], NOW, state_of(grant, on_team))
    assert [s.entry for s in before] == [others, own]
    after = visible_entries(viewer(SLT), [others, own], NOW,
                            state_of(grant, on_team, withdrawn(child, grant.data.consent_id)))
    assert [(s.entry, s.basis) for s in after] == [(own, "own")]


def test_a_consent_for_another_child_shows_nothing_about_this_one():
    child, sibling = uuid4(), uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), sibling)
    assert visible_entries(viewer(SLT), [stored(concern(child))], NOW, state_of(grant)) == []


def test_deciding_each_kind_of_entry_once_per_read_shows_exactly_what_deciding_every_entry_shows():
    from consent_policy.decision import decide

    child, sibling = uuid4(), uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN,)), child)
    mixed = [stored(env) for env in (
        concern(child), concern(child, SLT), concern(child), envelope(sample(r.EPAdviceShared), child, EP),
        envelope(sample(r.SLTReportShared), child, SLT), envelope(sample(r.ReferralAccepted), child, SLT),
        concern(sibling), envelope(sample(r.EPAdviceShared), child, EP), concern(child, SLT),
    )]
    for state in (state_of(grant, joined(child, SLT_ORG, Agency.SLT_SERVICE)), state_of(grant), ConsentState()):
        for who in (viewer(SLT), viewer(EP), viewer(HV), viewer(PARENT, [child])):
            one_by_one = []
            for entry in mixed:
                decision = decide(who, entry.as_decision_entry(), NOW, state)
                if decision.permitted:
                    one_by_one.append((entry, decision.basis))
            assert [(s.entry, s.basis) for s in visible_entries(who, mixed, NOW, state)] == one_by_one


def test_safeguarding_access_shows_the_whole_timeline_until_it_expires():
    child = uuid4()
    grant = envelope(safeguarding_payload(organisation=HV_ORG, hours=24), child)
    entries = [stored(concern(child)), stored(envelope(sample(r.EPAdviceShared), child, EP))]
    shown = visible_entries(viewer(HV), entries, NOW, state_of(grant))
    assert {s.basis for s in shown} == {f"safeguarding:{grant.data.grant_id}"} and len(shown) == 2
    assert visible_entries(viewer(HV), entries, NOW + timedelta(hours=24), state_of(grant)) == []


# -- the team and own requests (DESIGN §3 rules 3 and 5) -------------------------------------

ANSWERS = (r.ReferralAccepted, r.ReferralDeclined, r.ReferralWithdrawn, r.ReferralClosed, r.EHCAdviceSubmitted,
           r.InvitationDeclined)


@pytest.mark.parametrize("cls", ANSWERS, ids=lambda cls: cls.__name__)
def test_an_answer_to_a_request_names_the_organisation_that_made_it(cls):
    entry = entry_from_envelope(envelope(sample(cls), uuid4(), SLT))
    assert entry.answers_request_of == sample(cls).requested_by_organisation_id


def test_an_ehc_decision_answers_the_organisation_that_requested_it_and_nobody_when_a_parent_did():
    named = r.EHCAssessmentStarted(request_id=uuid4(), decided_on=NOW.date(), requested_by_organisation_id=SETTING_ORG)
    assert entry_from_envelope(envelope(named, uuid4())).answers_request_of == SETTING_ORG
    assert entry_from_envelope(envelope(sample(r.EHCAssessmentStarted), uuid4())).answers_request_of is None


@pytest.mark.parametrize("cls", [cls for cls in TIMELINE_EVENT_CLASSES if not hasattr(cls, "model_fields")
                                 or "requested_by_organisation_id" not in cls.model_fields],
                         ids=lambda cls: cls.__name__)
def test_an_event_that_answers_no_request_answers_nobodys(cls):
    assert entry_from_envelope(envelope(sample(cls), uuid4())).answers_request_of is None


def test_the_setting_sees_the_acceptance_of_its_referral_as_own_request_with_no_consent():
    child = uuid4()
    accepted = stored(envelope(sample(r.ReferralAccepted), child, SLT))
    shown = visible_entries(viewer(SETTING), [accepted], NOW, ConsentState())
    assert [(s.entry, s.basis) for s in shown] == [(accepted, "own_request")]
    assert visible_entries(viewer(HV), [accepted], NOW, ConsentState()) == []


def test_an_agency_kind_consent_does_not_reach_an_organisation_of_that_kind_until_it_joins_the_team():
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), child, time=NOW - timedelta(days=2))
    entries = [stored(concern(child))]
    assert visible_entries(viewer(SLT), entries, NOW, state_of(registered(child), grant)) == []
    state = state_of(registered(child), grant, joined(child, SLT_ORG, Agency.SLT_SERVICE))
    assert [s.basis for s in visible_entries(viewer(SLT), entries, NOW, state)] == [f"consent:{grant.data.consent_id}"]


def test_after_removal_from_the_team_an_organisation_sees_only_its_own_records():
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), child)
    entries = [stored(concern(child)), stored(concern(child, SLT))]
    state = state_of(grant, joined(child, SLT_ORG, Agency.SLT_SERVICE, time=NOW - timedelta(days=1)),
                     left(child, SLT_ORG, time=NOW - timedelta(hours=1)))
    assert [s.basis for s in visible_entries(viewer(SLT), entries, NOW, state)] == ["own"]


@pytest.mark.parametrize("cls", [r.InvitationSent, r.InvitationDeclined, r.KeyPersonNamed], ids=lambda cls: cls.__name__)
def test_invitations_and_the_key_person_are_referral_entries_like_the_others(cls):
    entry = entry_from_envelope(envelope(sample(cls), uuid4()))
    assert entry.category == "referral" and entry.event_type == cls.TYPE


def test_a_removal_says_who_removed_the_organisation():
    text = summarise(r.TeamMemberLeft(organisation_id=SLT_ORG, ended_by="removed_by_parent", reason="Therapy ended"))
    assert text == f"{SLT_ORG} was removed from the team by the parent: Therapy ended"


def test_an_entry_in_a_category_no_one_can_consent_to_is_shown_to_nobody_not_even_the_parent():
    child = uuid4()
    odd = stored(concern(child))
    odd = replace(odd, category="audit")
    for who in (viewer(PARENT, [child]), viewer(SETTING)):
        assert visible_entries(who, [odd], NOW, ConsentState()) == []


def test_visible_entries_keep_the_order_they_were_given_in():
    child = uuid4()
    entries = [stored(concern(child, SETTING, time=NOW - timedelta(minutes=i))) for i in range(5)]
    shown = visible_entries(viewer(SETTING), entries, NOW, ConsentState())
    assert [s.entry for s in shown] == entries


# -- input topics ----------------------------------------------------------------------------


def test_each_input_topic_accepts_only_its_own_event_types():
    assert misrouted_reason(Source.REFERRALS, r.ConcernRaised.TYPE) is None
    assert misrouted_reason(Source.CONSENT, c.ConsentExpiryReminderDue.TYPE) is None
    assert "does not belong on the referrals topic" in misrouted_reason(Source.REFERRALS, c.ConsentGranted.TYPE)
    assert "does not belong on the consent topic" in misrouted_reason(Source.CONSENT, r.ConcernRaised.TYPE)
    assert misrouted_reason(Source.REFERRALS, audit.TimelineViewed.TYPE) is not None


# -- access log ------------------------------------------------------------------------------


def test_the_parent_of_the_child_may_read_the_access_log_and_no_other_parent():
    child = uuid4()
    assert may_read_access_log(viewer(PARENT, [child]), child, SETTING_ORG)
    assert may_read_access_log(viewer(PARENT, [child]), child, None)
    assert not may_read_access_log(viewer(PARENT, [uuid4()]), child, SETTING_ORG)


def test_practitioners_of_the_childs_setting_may_read_the_access_log_and_no_other_organisation():
    child = uuid4()
    assert may_read_access_log(viewer(SETTING), child, SETTING_ORG)
    assert not may_read_access_log(viewer(SLT), child, SETTING_ORG)


def test_no_practitioner_may_read_the_access_log_of_a_child_not_registered_here():
    assert not may_read_access_log(viewer(SETTING), uuid4(), None)


def record(*bases: str) -> AccessRecord:
    return AccessRecord(uuid4(), uuid4(), "sam", SLT_ORG, "slt_service", "slt", NOW, len(bases),
                        tuple((uuid4(), b) for b in bases))


def test_reads_made_under_safeguarding_access_are_left_out_of_the_access_log_the_family_and_setting_see():
    consent_read = record("consent:1", "own")
    safeguarding_read = record("own", f"safeguarding:{uuid4()}")
    empty_read = record()
    assert access_log_for_reader([consent_read, safeguarding_read, empty_read]) == [consent_read, empty_read]


def test_an_access_record_counts_entries_per_basis():
    assert record("own", "consent:a", "own").basis_counts == {"consent:a": 1, "own": 2}


# -- cursors ---------------------------------------------------------------------------------


def test_a_cursor_survives_its_round_trip():
    cursor = Cursor(NOW.astimezone(timezone(timedelta(hours=-5))), uuid4())
    decoded = Cursor.decode(cursor.encode())
    assert decoded == cursor and decoded.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "zzz", "!!!!", "eHx5", "MjAyNS0wMy0wMVQxMjowMDowMHxub3QtYS11dWlk",
                                  "MjAyNS0wMy0wMVQxMjowMDowMHwxMjM0NTY3OC0xMjM0LTU2NzgtMTIzNC01Njc4MTIzNDU2Nzg"])
def test_anything_but_a_cursor_this_api_made_is_refused_with_a_hint(text):
    # the last two are "2025-03-01T12:00:00|not-a-uuid" and a valid uuid with a time without zone
    with pytest.raises(ValueError, match="next_before"):
        Cursor.decode(text)


def test_a_cursor_points_just_past_the_entry_it_was_made_from():
    entry = stored(concern(uuid4()))
    assert Cursor.after(entry) == Cursor(entry.occurred_at, entry.event_id)


def test_the_timeline_keeps_every_event_type_the_decision_folds_and_each_arrives_on_exactly_one_input_topic():
    assert CONSENT_STATE_TYPES == FOLDED_TYPES
    for event_type in CONSENT_STATE_TYPES:
        accepted_on = [source for source in (Source.CONSENT, Source.REFERRALS) if misrouted_reason(source, event_type) is None]
        expected = Source.CONSENT if event_type.startswith("tac.consent.") else Source.REFERRALS
        assert accepted_on == [expected], event_type


def test_a_cursor_whose_time_cannot_be_put_in_utc_is_refused_as_a_bad_cursor():
    import base64

    raw = base64.urlsafe_b64encode(f"0001-01-01T00:00:00+05:00|{uuid4()}".encode()).decode().rstrip("=")
    with pytest.raises(ValueError, match="not a cursor"):
        Cursor.decode(raw)


# -- the parent's own entries (issue 13: two-way, not a window) -------------------------------


def test_a_parents_observation_is_an_entry_authored_by_the_parent_with_no_organisation_and_reads_in_words():
    data = r.ParentObservationShared(observation_id=uuid4(), text="She says 'bir' for bird\nand points.",
                                     seen_on=NOW.date())
    entry = entry_from_envelope(envelope(data, uuid4(), PARENT))
    assert (entry.author_organisation_id, entry.author_agency, entry.category) == (None, "parent", "progress")
    assert entry.summary == f"Parent shared what they see at home (seen {NOW.date().isoformat()}): " \
                            "She says 'bir' for bird and points."
    assert entry.answers_request_of is None


def test_a_parents_ehc_views_read_in_words_and_say_when_the_childs_views_are_given_too():
    both = r.EHCParentViewsGiven(request_id=uuid4(), views_id=uuid4(), parent_views="We want her understood.",
                                 child_views="Likes the sand tray.")
    alone = r.EHCParentViewsGiven(request_id=uuid4(), views_id=uuid4(), parent_views="We want her understood.")
    assert summarise(both) == ("Parent gave their views for the EHC needs assessment and the child's views: "
                               "We want her understood.")
    assert summarise(alone) == "Parent gave their views for the EHC needs assessment: We want her understood."
    assert entry_from_envelope(envelope(both, uuid4(), PARENT)).category == "ehc"


@pytest.mark.parametrize("cls", [r.ParentObservationShared, r.EHCParentViewsGiven], ids=lambda cls: cls.__name__)
def test_a_parents_entry_reaches_a_team_member_only_under_a_consent_covering_its_category(cls):
    child = uuid4()
    category = Category(str(cls.CATEGORY))
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE, Agency.SETTING), categories=(category,)), child)
    entry = stored(envelope(sample(cls), child, PARENT))
    state = state_of(registered(child), grant, joined(child, SLT_ORG, Agency.SLT_SERVICE),
                     joined(child, HV_ORG, Agency.HEALTH_VISITING))

    assert [s.basis for s in visible_entries(viewer(SLT), [entry], NOW, state)] == [f"consent:{grant.data.consent_id}"]
    assert [s.basis for s in visible_entries(viewer(SETTING), [entry], NOW, state)] == [
        f"consent:{grant.data.consent_id}"]
    assert visible_entries(viewer(HV), [entry], NOW, state) == []  # on the team, no consent
    assert [s.basis for s in visible_entries(viewer(PARENT, [child]), [entry], NOW, ConsentState())] == ["parent"]
    assert visible_entries(viewer(SLT), [entry], NOW, state_of(grant)) == []  # consent, not on the team
