"""The referrals service's command handlers without a database, a broker or HTTP: the store and
the outbox are whole fakes (tests/unit/referrals/fakes.py). Each test runs one command and looks
at what it wrote and the events it queued — and that a refused command queued none."""

from __future__ import annotations

import inspect
from datetime import timedelta
from uuid import UUID

import pytest

from consent_policy.state import FOLDED_TYPES
from schemas.vocabulary import Agency, Category, PrimeArea, ProgressOutcome, TeamJoinRoute, TeamLeaveRoute
from services.common.errors import Conflict, Forbidden, NotFound
from services.referrals.adapters.store import store_functions
from services.referrals.domain import commands as c
from services.referrals.service_layer import caseloads, children, ehc, referrals, reviews, team, transition
from services.referrals.service_layer.consent_checks import MissingConsent
from services.referrals.service_layer.consent_events import HANDLERS, keep_consent_state
from tests.unit.referrals.fakes import NOW, FakeDeps, FakeStore, born, parent_of, person

TODAY = NOW.date()


@pytest.fixture
def deps() -> FakeDeps:
    return FakeDeps()


def register(deps: FakeDeps, date_of_birth=None) -> UUID:
    cmd = c.RegisterChild(given_name="Alfie", family_name="Example", date_of_birth=date_of_birth or born(1, 6))
    return children.register_child(deps, person("setting"), cmd)["child_id"]


def refer(deps: FakeDeps, child: UUID, to: str = "slt") -> UUID:
    organisation, agency = person(to).organisation_id, person(to).agency
    deps.grant_consent(child, organisations=[organisation], categories=[Category.REFERRAL])
    cmd = c.MakeReferral(to_organisation_id=organisation, to_agency=agency, reason="Speech delay")
    return referrals.make_referral(deps, person("setting"), child, cmd)["referral_id"]


def on_team(deps: FakeDeps, child: UUID, who: str) -> bool:
    return person(who).organisation_id in deps.store.involved_organisations(child, deps.now())


def test_the_fake_store_has_the_interface_of_the_sql_store():
    for name, function in store_functions().items():
        fake = getattr(FakeStore, name, None)
        assert fake is not None, f"FakeStore lacks {name}"
        sql_params = list(inspect.signature(function).parameters)[1:]  # the session is bound
        assert list(inspect.signature(fake).parameters)[1:] == sql_params, name


def test_the_consumed_events_kept_are_exactly_the_consent_events_the_decision_folds():
    kept = {event.TYPE for event, handlers in HANDLERS.items() if keep_consent_state in handlers}
    assert kept == {t for t in FOLDED_TYPES if t.startswith("tac.consent.")}


# --- children ------------------------------------------------------------------------------------


def test_registering_a_child_stores_it_and_puts_the_setting_on_its_team(deps):
    child = register(deps)
    assert deps.store.get_child(child).setting_organisation_id == "sunflowers-nursery"
    assert deps.events(child) == ["child_registered"]
    assert on_team(deps, child, "setting")  # ChildRegistered is kept in the decision's state, same transaction


def test_a_child_nearing_24_months_is_announced_at_registration(deps):
    child = register(deps, date_of_birth=born(1, 11) - timedelta(days=5))
    assert deps.events(child) == ["child_registered", "integrated_review_window_opened"]


def test_a_setting_registers_children_only_for_itself_and_nothing_is_written(deps):
    cmd = c.RegisterChild(given_name="Alfie", family_name="Example", date_of_birth=born(2),
                          setting_organisation_id="acorns-preschool")
    with pytest.raises(Forbidden):
        children.register_child(deps, person("setting"), cmd)
    assert deps.store.outbox == [] and deps.store.rows["children"] == {}


def test_a_stranger_gets_the_404_of_an_unknown_child(deps):
    child = register(deps)
    with pytest.raises(NotFound, match=f"no child {child}"):
        children.raise_concern(deps, person("other_setting"), child, c.RaiseConcern(
            areas_of_need=["communication_and_interaction"], summary="Few words"))


# --- referrals -----------------------------------------------------------------------------------


def test_a_referral_needs_a_consent_covering_the_receiver(deps):
    child = register(deps)
    cmd = c.MakeReferral(to_organisation_id="nhs-slt-east", to_agency=Agency.SLT_SERVICE, reason="Speech delay")
    with pytest.raises(MissingConsent):
        referrals.make_referral(deps, person("setting"), child, cmd)
    assert deps.events(child) == ["child_registered"]


def test_accepting_a_referral_puts_the_receiver_on_the_team_in_the_same_transaction(deps):
    child = register(deps)
    referral = refer(deps, child)
    assert deps.events(child)[-1] == "referral_made" and not on_team(deps, child, "slt")
    out = referrals.accept_referral(deps, person("slt"), referral)
    assert out["state"] == "accepted" and out["team_event_id"] is not None
    assert deps.events(child)[-2:] == ["referral_accepted", "team_member_joined"]
    assert on_team(deps, child, "slt")
    assert deps.store.team_member(child, "nhs-slt-east")["joined_through"] == TeamJoinRoute.REFERRAL_ACCEPTED


def test_declining_a_referral_records_the_reason_and_keeps_the_receiver_off_the_team(deps):
    child = register(deps)
    referral = refer(deps, child)
    referrals.decline_referral(deps, person("slt"), referral, c.DeclineReferral(reason="Not our area"))
    assert deps.store.get_referral_row(referral)["note"] == "Not our area"
    assert deps.events(child)[-1] == "referral_declined" and not on_team(deps, child, "slt")
    # Answered, the referral no longer makes its receiver one who may know of the child.
    with pytest.raises(NotFound, match=f"no referral {referral}"):
        referrals.accept_referral(deps, person("slt"), referral)


def test_only_the_receiver_answers_a_referral(deps):
    child = register(deps)
    referral = refer(deps, child)
    with pytest.raises(Forbidden):
        referrals.accept_referral(deps, person("setting"), referral)
    assert deps.events(child)[-1] == "referral_made"


# --- the team ------------------------------------------------------------------------------------


def invite_and_join(deps: FakeDeps, child: UUID, who: str) -> UUID:
    deps.grant_consent(child, organisations=[person(who).organisation_id])
    invitation = team.invite(deps, person("setting"), child, c.InviteToTeam(organisation_id=person(who).organisation_id))
    team.accept_invitation(deps, person(who), invitation["invitation_id"])
    return invitation["invitation_id"]


def test_an_invitation_accepted_brings_the_organisation_onto_the_team(deps):
    child = register(deps)
    invite_and_join(deps, child, "family")
    assert deps.events(child)[-2:] == ["invitation_sent", "team_member_joined"]
    assert on_team(deps, child, "family")
    with pytest.raises(Conflict):  # a member is not invited again
        team.invite(deps, person("setting"), child, c.InviteToTeam(organisation_id="family-hub-central"))


def test_an_invitation_without_a_consent_naming_the_organisation_is_refused(deps):
    child = register(deps)
    with pytest.raises(MissingConsent):
        team.invite(deps, person("setting"), child, c.InviteToTeam(organisation_id="family-hub-central"))
    assert deps.events(child) == ["child_registered"]


def test_leaving_withdraws_the_invitations_the_member_sent(deps):
    child = register(deps)
    invite_and_join(deps, child, "family")
    deps.grant_consent(child, organisations=["ep-service-city"])
    sent = team.invite(deps, person("family"), child, c.InviteToTeam(organisation_id="ep-service-city"))
    out = team.leave(deps, person("family"), child, "family-hub-central", c.LeaveTeam())
    assert out["ended_by"] == TeamLeaveRoute.LEFT and deps.events(child)[-1] == "team_member_left"
    assert not on_team(deps, child, "family")
    assert deps.store.get_invitation(sent["invitation_id"])["state"] == "withdrawn"


def test_a_parent_removes_a_member_but_not_the_setting(deps):
    child = register(deps)
    invite_and_join(deps, child, "family")
    parent = parent_of(child)
    out = team.remove_member(deps, parent, child, "family-hub-central", c.RemoveTeamMember(reason="We moved"))
    assert out["ended_by"] == TeamLeaveRoute.REMOVED_BY_PARENT and not on_team(deps, child, "family")
    with pytest.raises(Conflict):
        team.remove_member(deps, parent, child, "sunflowers-nursery", c.RemoveTeamMember(reason="No"))


# --- EHC, the integrated review, the transition ------------------------------------------------------


def test_an_ehc_request_puts_the_local_authority_on_the_team_before_its_event(deps):
    child = register(deps)
    deps.grant_consent(child, agencies=[Agency.LA_SEN_TEAM], categories=[Category.EHC])
    out = ehc.request_ehc(deps, person("setting"), child, c.RequestEHCAssessment(la_organisation_id="la-sen-team"))
    assert deps.events(child)[-2:] == ["team_member_joined", "ehc_assessment_requested"]
    assert on_team(deps, child, "la") and out["state"] == "requested"
    ehc.start_ehc(deps, person("la"), out["request_id"], c.StartEHCAssessment())
    assert deps.store.get_ehc(out["request_id"])["state"] == "started"
    with pytest.raises(Conflict):  # one open request per child
        ehc.request_ehc(deps, person("setting"), child, c.RequestEHCAssessment(la_organisation_id="la-sen-team"))


def test_an_integrated_review_with_a_partner_is_scheduled_and_completed(deps):
    child = register(deps)
    deps.grant_consent(child, organisations=["hv-team-west"], categories=[Category.HEALTH])
    out = reviews.schedule_review(deps, person("setting"), child, c.ScheduleIntegratedReview(
        scheduled_for=TODAY + timedelta(days=7), with_organisation_id="hv-team-west", with_agency=Agency.HEALTH_VISITING))
    assert deps.events(child)[-2:] == ["team_member_joined", "integrated_review_scheduled"]
    done = reviews.complete_review(deps, person("hv"), out["review_id"], c.CompleteIntegratedReview(
        completed_on=TODAY, outcomes={PrimeArea.COMMUNICATION_AND_LANGUAGE: ProgressOutcome.EMERGING}))
    assert done["state"] == "completed" and deps.events(child)[-1] == "integrated_review_completed"


def test_a_transition_plan_brings_the_school_onto_the_team_and_the_school_completes_it(deps):
    child = register(deps, date_of_birth=born(4))
    out = transition.plan_transition(deps, person("setting"), child, c.PlanTransition(
        school_organisation_id="oak-primary", starts_on=TODAY + timedelta(days=60), plan_summary="Visits in July"))
    assert out["state"] == "planned" and on_team(deps, child, "school")
    assert deps.events(child)[-2:] == ["team_member_joined", "transition_to_school_planned"]
    invite_and_join(deps, child, "family")
    with pytest.raises(Forbidden):  # a team member, but neither the setting nor the school
        transition.complete_transition(deps, person("family"), child, c.CompleteTransition())
    transition.complete_transition(deps, person("school"), child, c.CompleteTransition())
    assert deps.store.get_transition(child)["state"] == "completed"


# --- reads through the same fakes -----------------------------------------------------------------


def test_a_referral_waiting_for_its_answer_is_on_the_receivers_caseload_with_the_childs_name(deps):
    child = register(deps)
    referral = refer(deps, child)
    page = caseloads.caseload(deps, person("slt"), kind=None, overdue_only=False, limit=50, offset=0)
    assert [(i["kind"], i["id"], i["child_name"]) for i in page["items"]] == [("referral", referral, "Alfie Example")]
    assert caseloads.caseload(deps, person("ep"), kind=None, overdue_only=False, limit=50, offset=0)["items"] == []
