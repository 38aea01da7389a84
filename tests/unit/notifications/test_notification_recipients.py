"""Who is told about a new entry: the team members and parents the consent decision permits, and
nobody else (DESIGN §3, §4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, AreaOfNeed, Category
from consent_policy.decision import decide
from consent_policy.state import ConsentState
from services.notifications.domain.recipients import About, Audience, recipients

from .builders import (
    EP, LA, NOW, OTHER_LA, OTHER_SETTING, OUTSIDER, SETTING, SLT, actor, consent_granted, consent_withdrawn, envelope,
    parent, practitioner, team_joined, team_left,
)

CHILD = uuid4()
OTHER_CHILD = uuid4()


def slt_report(child=CHILD, by=None):
    data = r.SLTReportShared(report_id=uuid4(), assessment_summary="private words", programme="p")
    return envelope(data, child, by=by or actor(SLT, "slt-1"))


def concern(child=CHILD, by=None):
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
                           summary="private words")
    return envelope(data, child, by=by or actor(SETTING, "senco-1"))


def with_team(state: ConsentState, child, team) -> ConsentState:
    """The decision's state with the team in it (rule 5 needs it): each organisation joined."""
    for org in team:
        state = state.apply(team_joined(child, org))
    return state


def told(entry, subscribers, state, team=(SETTING, SLT, EP)):
    found = recipients(About.from_envelope(entry), Audience.for_entry(entry, team), subscribers, now=NOW,
                       state=with_team(state, entry.subject, team))
    return {a.subscriber.address for a in found}


TEAM_SUBSCRIBERS = [practitioner(SETTING), practitioner(SLT), practitioner(EP), parent("parent-1", CHILD)]


def test_only_organisations_the_consent_names_for_the_category_are_told_of_an_entry():
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(EP,), categories=(Category.CONCERN,))])

    assert told(concern(), TEAM_SUBSCRIBERS, state) == {f"{EP}/{EP}-person", "parent/parent-1"}


def test_the_authoring_organisation_is_not_told_of_its_own_entry():
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(SETTING, SLT, EP))])

    assert f"{SLT}/{SLT}-person" not in told(slt_report(), TEAM_SUBSCRIBERS, state)
    assert f"{SETTING}/{SETTING}-person" in told(slt_report(), TEAM_SUBSCRIBERS, state)


def test_a_consent_covering_another_category_tells_nobody_but_the_parent():
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(SETTING, EP), categories=(Category.REFERRAL,))])

    assert told(slt_report(), TEAM_SUBSCRIBERS, state) == {"parent/parent-1"}


def test_a_consent_naming_an_agency_kind_tells_that_agency():
    state = ConsentState.from_events([consent_granted(CHILD, agencies=(Agency.EP_SERVICE,))])

    assert told(slt_report(), TEAM_SUBSCRIBERS, state) == {f"{EP}/{EP}-person", "parent/parent-1"}


def test_an_organisation_outside_the_team_is_never_told_even_when_the_consent_names_it():
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(OUTSIDER, EP))])
    subscribers = TEAM_SUBSCRIBERS + [practitioner(OUTSIDER)]

    assert f"{OUTSIDER}/{OUTSIDER}-person" not in told(slt_report(), subscribers, state)


def test_after_a_withdrawal_the_withdrawn_organisation_is_told_nothing_more():
    grant = consent_granted(CHILD, orgs=(EP,))
    state = ConsentState.from_events([grant, consent_withdrawn(CHILD, grant.data.consent_id)])

    assert told(slt_report(), TEAM_SUBSCRIBERS, state) == {"parent/parent-1"}


def test_an_expired_consent_tells_nobody():
    grant = consent_granted(CHILD, orgs=(EP,), valid_from=NOW - timedelta(days=400), expires_at=NOW - timedelta(days=1))

    assert told(slt_report(), TEAM_SUBSCRIBERS, ConsentState.from_events([grant])) == {"parent/parent-1"}


def test_a_parent_is_told_about_their_own_child_only():
    state = ConsentState()
    subscribers = [parent("parent-1", CHILD), parent("parent-2", OTHER_CHILD)]

    assert told(slt_report(), subscribers, state) == {"parent/parent-1"}


def test_a_parent_is_not_told_of_what_they_recorded_themselves():
    grant = consent_granted(CHILD, orgs=(EP,))
    withdrawal = consent_withdrawn(CHILD, grant.data.consent_id)  # recorded by parent-1

    assert "parent/parent-1" not in told(withdrawal, [parent("parent-1", CHILD)], ConsentState())
    assert "parent/parent-2" in told(withdrawal, [parent("parent-2", CHILD)], ConsentState())


def test_an_entry_of_unknown_category_tells_nobody_not_even_the_parent():
    entry = About(uuid4(), CHILD, "tac.referrals.something_new.v1", "gossip", SETTING)
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(EP,))])

    found = recipients(entry, Audience(frozenset({SETTING, EP})), TEAM_SUBSCRIBERS, now=NOW, state=state)

    assert found == []


def _safeguarding_grant(org=OUTSIDER, by_org=OUTSIDER):
    data = c.SafeguardingAccessGranted(
        grant_id=uuid4(), organisation_id=org, justification="Disclosure made at nursery today; urgent.",
        granted_at=NOW - timedelta(hours=1), expires_at=NOW + timedelta(hours=24),
    )
    return envelope(data, CHILD, by=actor(by_org, "duty-worker"))


def test_break_glass_access_tells_the_granted_organisations_safeguarding_lead_and_not_the_family():
    grant = _safeguarding_grant()
    dsl = practitioner(OUTSIDER, "dsl-1", role="designated_safeguarding_lead")
    colleague = practitioner(OUTSIDER, "worker-2")
    state = ConsentState.from_events([grant])

    assert told(grant, [dsl, colleague, parent("parent-1", CHILD)], state) == {f"{OUTSIDER}/dsl-1"}


def test_the_safeguarding_lead_of_another_organisation_is_not_told_of_break_glass_access():
    grant = _safeguarding_grant(org=OUTSIDER)
    other_dsl = practitioner(EP, "dsl-ep", role="designated_safeguarding_lead")

    assert told(grant, [other_dsl], ConsentState.from_events([grant]), team=()) == set()


# --- property: nobody the decision refuses is ever told -----------------------------------------

ORGS = [SETTING, SLT, EP, OUTSIDER]
CHILDREN = [CHILD, OTHER_CHILD]

subscriber_st = st.one_of(
    st.builds(lambda o, p, role: practitioner(o, p, role=role), st.sampled_from(ORGS), st.sampled_from(["a", "b"]),
              st.sampled_from(["practitioner", "designated_safeguarding_lead"])),
    st.builds(lambda p, kids: parent(p, *kids), st.sampled_from(["parent-1", "parent-2"]),
              st.sets(st.sampled_from(CHILDREN), max_size=2)),
)
consent_st = st.builds(
    lambda child, orgs, cats, withdrawn: (consent_granted(child, orgs=tuple(orgs), categories=tuple(cats)), withdrawn),
    st.sampled_from(CHILDREN), st.sets(st.sampled_from(ORGS), min_size=1, max_size=3),
    st.sets(st.sampled_from(list(Category)), min_size=1, max_size=4), st.booleans(),
)
entry_st = st.builds(
    lambda child, cat, author, requester: About(uuid4(), child, "tac.referrals.x.v1", cat, author, "someone",
                                                answers_request_of=requester),
    st.sampled_from(CHILDREN), st.sampled_from([*Category, "audit"]), st.sampled_from([*ORGS, None]),
    st.sampled_from([*ORGS, None]),
)


@settings(max_examples=200, deadline=None)
@given(entry=entry_st, team=st.sets(st.sampled_from(ORGS)), subscribers=st.lists(subscriber_st, max_size=6),
       consents=st.lists(consent_st, max_size=3))
def test_no_one_is_ever_told_of_an_entry_the_decision_would_not_show_them_or_outside_team_and_family(
    entry, team, subscribers, consents
):
    events = [g for g, _ in consents] + [consent_withdrawn(g.subject, g.data.consent_id) for g, w in consents if w]
    state = ConsentState.from_events(events)

    for addressed in recipients(entry, Audience(frozenset(team)), subscribers, now=NOW, state=state):
        sub = addressed.subscriber
        assert decide(sub.viewer(), entry.entry(), NOW, state).permitted
        if sub.is_parent:
            assert entry.child_id in sub.children
        else:
            assert sub.organisation_id in team
            assert sub.organisation_id != entry.author_organisation_id


# --- a parent's children are vouched for by the token that named them, until it expires ---------


def test_a_parents_children_are_relied_on_until_the_token_that_named_them_expires_and_not_a_moment_longer():
    mum = parent("parent-1", CHILD, valid_until=NOW + timedelta(minutes=5))

    assert mum.children_vouched_at(NOW)
    assert mum.children_vouched_at(NOW + timedelta(minutes=4, seconds=59))
    assert not mum.children_vouched_at(NOW + timedelta(minutes=5))
    assert mum.as_of(NOW) == mum
    assert mum.as_of(NOW + timedelta(minutes=5)).children == frozenset()


def test_a_parent_subscribed_without_a_known_token_expiry_is_relied_on_for_nothing():
    assert not parent("parent-1", CHILD, valid_until=None).children_vouched_at(NOW)


def test_a_practitioners_access_never_depends_on_a_token_expiry():
    ep = practitioner(EP)

    assert ep.children_vouched_at(datetime.max.replace(tzinfo=NOW.tzinfo))
    assert ep.as_of(NOW) == ep


def test_a_parent_whose_children_are_no_longer_vouched_for_is_told_nothing_as_of_now():
    mum = parent("parent-1", CHILD, valid_until=NOW - timedelta(seconds=1))

    assert told(concern(), [mum.as_of(NOW)], ConsentState()) == set()
    assert told(concern(), [mum], ConsentState()) == {"parent/parent-1"}, "the stored list itself is unchanged"


# --- the team at the entry's moment ---------------------------------------------------------------


def test_an_agency_kind_consent_never_reaches_an_organisation_of_that_kind_off_the_team():
    state = ConsentState.from_events([consent_granted(CHILD, agencies=(Agency.HEALTH_VISITING,))])
    outsider = practitioner(OUTSIDER)
    entry = slt_report()

    # Even when it is considered (a subscriber query that let it through), the decision refuses.
    found = recipients(About.from_envelope(entry), Audience.for_entry(entry, (SETTING, SLT, OUTSIDER)), [outsider],
                       now=NOW, state=with_team(state, CHILD, (SETTING, SLT)))
    assert found == []


def test_an_organisation_is_told_once_it_joins_the_team_without_a_new_consent():
    state = ConsentState.from_events([consent_granted(CHILD, agencies=(Agency.HEALTH_VISITING,))])
    outsider = practitioner(OUTSIDER)

    assert told(slt_report(), [outsider], state, team=(SETTING, SLT)) == set()
    assert told(slt_report(), [outsider], state, team=(SETTING, SLT, OUTSIDER)) == {f"{OUTSIDER}/{OUTSIDER}-person"}


def test_an_organisation_removed_from_the_team_is_told_nothing_more():
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(EP,)), team_joined(CHILD, SETTING),
                                      team_joined(CHILD, EP), team_left(CHILD, EP)])
    entry = slt_report()
    team = state.team_members(CHILD, NOW)

    assert EP not in team
    found = recipients(About.from_envelope(entry), Audience.for_entry(entry, team), [practitioner(EP)], now=NOW,
                       state=state)
    assert found == []


def test_the_settings_dsl_is_told_of_break_glass_access_without_consent_and_no_one_else_of_the_setting():
    grant = _safeguarding_grant(org=EP)
    setting_dsl = practitioner(SETTING, "dsl-hana", role="designated_safeguarding_lead")
    setting_senco = practitioner(SETTING, "senco-1")
    state = with_team(ConsentState.from_events([grant]), CHILD, (SETTING, EP))

    found = recipients(About.from_envelope(grant), Audience.for_entry(grant, (SETTING, EP), SETTING),
                       [setting_dsl, setting_senco], now=NOW, state=state)
    assert [(a.subscriber.person_id, a.basis) for a in found] == [("dsl-hana", "safeguarding_oversight")]


def test_break_glass_access_is_told_to_the_designated_safeguarding_leads_only_never_the_team_a_consent_reaches():
    """The timeline never shows a grant and DESIGN §3 says the DSL is told: a team member whose
    consent covers the `consent` category (rule 5), or a colleague of the granted organisation
    (rule 4 lets it read the child's record, not hear of the grant), is told nothing; nor is the
    family (told "when safe", by a person). The setting's DSL is told (oversight) and the
    granted organisation's DSL (DESIGN §3: "the organisation's designated safeguarding lead")."""
    grant = _safeguarding_grant(org=EP, by_org=EP)
    everything = consent_granted(CHILD, orgs=(SETTING, SLT, EP), categories=tuple(Category))
    state = with_team(ConsentState.from_events([everything, grant]), CHILD, (SETTING, SLT, EP))
    subscribers = [
        practitioner(SETTING, "dsl-hana", role="designated_safeguarding_lead"), practitioner(SETTING, "senco-1"),
        practitioner(SLT, "slt-1"), practitioner(SLT, "dsl-slt", role="designated_safeguarding_lead"),
        practitioner(EP, "ep-colleague"), practitioner(EP, "dsl-ep", role="designated_safeguarding_lead"),
        parent("parent-1", CHILD),
    ]
    # Each of them may see a `consent` entry by the consent (rules 1 and 5), so only the
    # recipient rule keeps them out.
    assert decide(practitioner(SLT, "slt-1").viewer(), About.from_envelope(grant).entry(), NOW, state).permitted

    found = recipients(About.from_envelope(grant), Audience.for_entry(grant, (SETTING, SLT, EP), SETTING),
                       subscribers, now=NOW, state=state)

    assert {(a.subscriber.address, a.basis.split(":")[0]) for a in found} == {
        (f"{SETTING}/dsl-hana", "safeguarding_oversight"), (f"{EP}/dsl-ep", "own")}  # the grant is EP's record


def test_the_audience_of_a_break_glass_grant_is_the_oversight_alone():
    grant = _safeguarding_grant(org=EP, by_org=EP)

    audience = Audience.for_entry(grant, (SETTING, SLT, EP), SETTING)

    assert audience.team == frozenset()
    assert audience.oversight == {(SETTING, "designated_safeguarding_lead"), (EP, "designated_safeguarding_lead")}


# --- rule 3: the answers to an organisation's own requests ---------------------------------------

REFERRAL_ANSWERS = [
    lambda requester: r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=requester),
    lambda requester: r.ReferralDeclined(referral_id=uuid4(), requested_by_organisation_id=requester,
                                         reason="private words"),
    lambda requester: r.ReferralClosed(referral_id=uuid4(), requested_by_organisation_id=requester,
                                       outcome="private words"),
]


def test_an_entry_names_the_organisation_whose_request_it_answers_and_the_decision_reads_it():
    answer = envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING), CHILD,
                      by=actor(SLT, "slt-1"))
    about = About.from_envelope(answer)

    assert about.answers_request_of == SETTING
    assert about.entry().answers_request_of == SETTING
    assert About.from_envelope(concern()).answers_request_of is None


@pytest.mark.parametrize("answer", REFERRAL_ANSWERS, ids=["accepted", "declined", "closed"])
def test_the_organisation_that_made_a_referral_is_told_its_answer_without_any_consent(answer):
    entry = envelope(answer(SETTING), CHILD, by=actor(SLT, "slt-1"))
    subscribers = [practitioner(SETTING), practitioner(OTHER_SETTING), practitioner(EP)]

    found = recipients(About.from_envelope(entry), Audience.for_entry(entry, (SETTING, SLT, EP, OTHER_SETTING)),
                       subscribers, now=NOW, state=with_team(ConsentState(), CHILD, (SETTING, SLT, EP, OTHER_SETTING)))

    # Another setting on the team, of the same agency, asked for nothing and has no consent.
    assert [(a.subscriber.organisation_id, a.basis) for a in found] == [(SETTING, "own_request")]


def test_the_local_authority_that_asked_for_advice_is_told_it_was_submitted_without_any_consent():
    data = r.EHCAdviceSubmitted(request_id=uuid4(), advice_id=uuid4(), requested_by_organisation_id=LA,
                                submitted_on=NOW.date(), summary="private words")
    entry = envelope(data, CHILD, by=actor(EP, "ep-1"))
    team = (SETTING, EP, LA, OTHER_LA)

    found = recipients(About.from_envelope(entry), Audience.for_entry(entry, team),
                       [practitioner(LA), practitioner(OTHER_LA), practitioner(SETTING)], now=NOW,
                       state=with_team(ConsentState(), CHILD, team))

    assert [(a.subscriber.organisation_id, a.basis) for a in found] == [(LA, "own_request")]


def test_an_agency_kind_consent_is_no_substitute_for_having_made_the_request():
    state = ConsentState.from_events([consent_granted(CHILD, agencies=(Agency.SETTING,),
                                                      categories=(Category.CONCERN,))])
    entry = envelope(REFERRAL_ANSWERS[0](SETTING), CHILD, by=actor(SLT, "slt-1"))

    assert told(entry, [practitioner(SETTING), practitioner(OTHER_SETTING)], state,
                team=(SETTING, SLT, OTHER_SETTING)) == {f"{SETTING}/{SETTING}-person"}


def test_a_requester_no_longer_on_the_team_is_not_told_the_answer():
    entry = envelope(REFERRAL_ANSWERS[2](EP), CHILD, by=actor(SLT, "slt-1"))

    assert told(entry, [practitioner(EP)], ConsentState(), team=(SETTING, SLT)) == set()
