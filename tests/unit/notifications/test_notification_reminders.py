"""Reminders of what is due (DESIGN §5): a week before and on the day, 30 days before a consent
expires, each once; the closest one wins after an outage; old dates are not replayed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.events.referrals import DueDate
from schemas.vocabulary import Agency, Category, PrimeArea, ProgressOutcome, TeamJoinRoute
from consent_policy.state import ConsentState
from services.notifications.domain.recipients import recipients
from services.notifications.domain.reminders import (
    CHILD_REF, CONSENT_EXPIRY, EHC_ADVICE, INTEGRATED_REVIEW, INTEGRATED_REVIEW_WINDOW, cancellations, cancels,
    due_now, reminded, reminder_audience, reminders_for,
)

from .builders import (
    EP, NOW, SETTING, SLT, actor, consent_granted, consent_withdrawn, envelope, parent, practitioner,
    team_joined,
)

CHILD = uuid4()


def advice_requested(due_on=date(2026, 4, 1), advice_id=None):
    data = r.EHCAdviceRequested(request_id=uuid4(), advice_id=advice_id or uuid4(), from_organisation_id=EP,
                                from_agency=Agency.EP_SERVICE, requested_on=due_on - timedelta(weeks=6), due_on=due_on)
    return envelope(data, CHILD, by=actor("org-la", "caseworker-1", Agency.LA_SEN_TEAM))


def test_an_advice_request_sets_reminders_a_week_before_and_on_the_day():
    event = advice_requested(date(2026, 4, 1))

    reminders = reminders_for(event)

    assert [(x.kind, x.send_on, x.category) for x in reminders] == [
        (EHC_ADVICE, date(2026, 3, 25), "ehc"), (EHC_ADVICE, date(2026, 4, 1), "ehc")]
    assert {x.ref for x in reminders} == {str(event.data.advice_id)}
    assert {x.author_organisation_id for x in reminders} == {"org-la"}


def test_an_ehc_request_sets_reminders_for_each_statutory_date_it_carries():
    dates = (DueDate(kind="ehc_decision_to_assess", due_on=date(2026, 4, 13), reference="reg. 5(1)"),
             DueDate(kind="ehc_final_plan", due_on=date(2026, 7, 20), reference="reg. 13(2)"))
    data = r.EHCAssessmentRequested(request_id=uuid4(), requested_on=date(2026, 3, 2), requested_by="parent",
                                    la_organisation_id="org-la", due_dates=dates)

    reminders = reminders_for(envelope(data, CHILD))

    assert sorted((x.kind, x.offset_days) for x in reminders) == [
        ("ehc_decision_to_assess", 0), ("ehc_decision_to_assess", 7), ("ehc_final_plan", 0), ("ehc_final_plan", 7)]
    assert {x.category for x in reminders} == {"ehc"}


def test_a_childs_registration_dates_take_the_category_of_what_is_due():
    dates = (DueDate(kind="integrated_review_window_opens", due_on=date(2026, 9, 1), reference="EYFS"),
             DueDate(kind="transition_planning_starts", due_on=date(2028, 1, 1), reference="CoP 5.47"))
    data = r.ChildRegistered(setting_organisation_id=SETTING, due_dates=dates)

    categories = {x.kind: x.category for x in reminders_for(envelope(data, CHILD))}

    assert categories == {"integrated_review_window_opens": "health", "transition_planning_starts": "transition"}


def test_a_consent_is_reminded_30_days_before_it_expires_once_whether_from_the_grant_or_the_trigger():
    expires = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)
    grant = consent_granted(CHILD, orgs=(EP,), expires_at=expires)
    trigger = envelope(c.ConsentExpiryReminderDue(consent_id=grant.data.consent_id, expires_at=expires), CHILD)

    from_grant, from_trigger = reminders_for(grant), reminders_for(trigger)

    assert [(x.kind, x.send_on) for x in from_grant] == [(CONSENT_EXPIRY, date(2027, 1, 30))]
    assert [x.key for x in from_grant] == [x.key for x in from_trigger]


def test_an_event_without_dates_sets_no_reminder():
    assert reminders_for(envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING), CHILD)) == ()


def test_the_send_key_names_the_recipient_so_each_person_is_reminded_once():
    reminder = reminders_for(advice_requested())[0]

    assert reminder.send_key(practitioner(EP, "ep-1")) == f"{reminder.key}:{EP}/ep-1"
    assert reminder.send_key(practitioner(EP, "ep-1")) != reminder.send_key(practitioner(EP, "ep-2"))


def test_a_reminder_is_sent_on_its_day_and_not_before():
    week_before, on_the_day = reminders_for(advice_requested(date(2026, 4, 1)))

    assert due_now([week_before, on_the_day], date(2026, 3, 24)).send == ()
    assert due_now([week_before, on_the_day], date(2026, 3, 25)).send == (week_before,)
    assert due_now([on_the_day], date(2026, 4, 1)).send == (on_the_day,)


def test_after_an_outage_only_the_closest_reminder_of_a_date_is_sent():
    week_before, on_the_day = reminders_for(advice_requested(date(2026, 4, 1)))

    chosen = due_now([week_before, on_the_day], date(2026, 4, 1))

    assert chosen.send == (on_the_day,)
    assert chosen.superseded == (week_before,)


def test_a_date_long_past_is_not_reminded_so_a_replay_floods_nobody():
    week_before, on_the_day = reminders_for(advice_requested(date(2026, 4, 1)))

    assert due_now([on_the_day], date(2026, 4, 2), late_grace_days=1).send == (on_the_day,)
    late = due_now([week_before, on_the_day], date(2026, 4, 3), late_grace_days=1)
    assert late.send == () and set(late.expired) == {week_before, on_the_day}


def test_withdrawing_a_consent_cancels_its_expiry_reminder_and_nothing_else():
    grant = consent_granted(CHILD, orgs=(EP,))
    [reminder] = reminders_for(grant)
    [cancellation] = cancellations(consent_withdrawn(CHILD, grant.data.consent_id))

    assert cancels(cancellation, reminder)
    assert not cancels(cancellation, replace(reminder, ref=str(uuid4())))
    assert not cancels(cancellation, replace(reminder, child_id=uuid4()))


def test_submitted_advice_and_a_completed_review_cancel_their_reminders():
    advice_id, review_id = uuid4(), uuid4()
    submitted = envelope(r.EHCAdviceSubmitted(request_id=uuid4(), advice_id=advice_id, submitted_on=date(2026, 3, 20),
                                              summary="s", requested_by_organisation_id="org-la"), CHILD)
    completed = envelope(r.IntegratedReviewCompleted(
        review_id=review_id, completed_on=date(2026, 3, 20),
        outcomes={PrimeArea.PHYSICAL_DEVELOPMENT: ProgressOutcome.EXPECTED}), CHILD)
    scheduled = envelope(r.IntegratedReviewScheduled(review_id=review_id, scheduled_for=date(2026, 3, 30)), CHILD)

    assert all(cancels(cancellations(submitted)[0], x) for x in reminders_for(advice_requested(advice_id=advice_id)))
    assert all(cancels(cancellations(completed)[0], x) for x in reminders_for(scheduled))
    assert {x.kind for x in reminders_for(scheduled)} == {INTEGRATED_REVIEW}


def test_a_finalised_plan_cancels_every_date_of_its_request():
    request_id = uuid4()
    draft = envelope(r.EHCDraftPlanIssued(request_id=request_id, issued_on=date(2026, 6, 1),
                                          comments_due_on=date(2026, 6, 16)), CHILD)
    final = envelope(r.EHCPlanFinalised(request_id=request_id, finalised_on=date(2026, 6, 30)), CHILD)

    [cancellation] = cancellations(final)

    assert cancellation.kinds is None
    assert all(cancels(cancellation, x) for x in reminders_for(draft))


def test_a_reminder_reaches_the_organisation_that_set_the_date_even_outside_the_team_and_those_permitted():
    reminder = reminders_for(advice_requested())[0]  # authored by org-la, category ehc
    la, ep, setting = practitioner("org-la", "caseworker-1"), practitioner(EP, "ep-1"), practitioner(SETTING, "s-1")
    state = ConsentState.from_events([consent_granted(CHILD, orgs=(EP,), categories=(Category.EHC,)),
                                      team_joined(CHILD, SETTING), team_joined(CHILD, EP)])

    found = recipients(reminder.about(), reminder_audience([EP, SETTING], reminder), [la, ep, setting],
                       now=NOW, state=state)

    assert {(a.subscriber.address, a.basis.split(":")[0]) for a in found} == {
        ("org-la/caseworker-1", "own"), (f"{EP}/ep-1", "consent")}


# --- the integrated review window, announced on the day (no date of birth on the bus) -------------

HV = "org-hv"


def window_opened(announced_on=date(2026, 3, 2), by=None):
    return envelope(r.IntegratedReviewWindowOpened(announced_on=announced_on), CHILD, by=by or actor(SETTING))


def test_the_integrated_review_window_opening_is_one_health_reminder_on_the_day_it_is_announced():
    [reminder] = reminders_for(window_opened(date(2026, 3, 2)))

    assert (reminder.kind, reminder.category, reminder.send_on, reminder.offset_days) == (
        INTEGRATED_REVIEW_WINDOW, "health", date(2026, 3, 2), 0)
    assert due_now([reminder], date(2026, 3, 2)).send == (reminder,)


def test_a_second_announcement_of_the_window_is_the_same_reminder_so_nobody_hears_twice():
    first, again = reminders_for(window_opened()), reminders_for(window_opened())

    assert [x.key for x in first] == [x.key for x in again]


def test_the_announced_window_cancels_a_dated_window_reminder_from_an_older_registration_but_not_itself():
    legacy = DueDate(kind=INTEGRATED_REVIEW_WINDOW, due_on=date(2026, 3, 9), reference="EYFS")
    registered = envelope(r.ChildRegistered(setting_organisation_id=SETTING, due_dates=(legacy,)), CHILD)
    opened = window_opened()
    [cancellation] = cancellations(opened)

    assert all(cancels(cancellation, x) for x in reminders_for(registered))
    assert not any(cancels(cancellation, x) for x in reminders_for(opened))
    assert {x.ref for x in reminders_for(registered)} == {CHILD_REF}


def test_the_window_reminder_goes_to_team_members_permitted_for_health_the_announcing_setting_and_the_parent():
    [reminder] = reminders_for(window_opened(by=actor(SETTING)))
    hv, slt, setting = practitioner(HV, "hv-1"), practitioner(SLT, "slt-1"), practitioner(SETTING, "senco-1")
    state = ConsentState.from_events([
        consent_granted(CHILD, orgs=(HV,), categories=(Category.HEALTH,)),
        consent_granted(CHILD, orgs=(SLT,), categories=(Category.SLT, Category.REFERRAL)),
        team_joined(CHILD, SETTING), team_joined(CHILD, SLT),
        envelope(r.TeamMemberJoined(organisation_id=HV, agency=Agency.HEALTH_VISITING, role="health_visitor",
                                    joined_through=TeamJoinRoute.INVITATION), CHILD, at=NOW - timedelta(days=3)),
    ])

    found = reminded(reminder, [SETTING, HV, SLT], [hv, slt, setting, parent("parent-1", CHILD)], now=NOW,
                     state=state)

    assert {(a.subscriber.address, a.basis.split(":")[0]) for a in found} == {
        (f"{HV}/hv-1", "consent"), (f"{SETTING}/senco-1", "own"), ("parent/parent-1", "parent")}


def test_a_reminder_reaches_a_parent_only_while_the_token_that_named_their_children_is_valid():
    [reminder] = reminders_for(window_opened())
    current = parent("parent-1", CHILD, valid_until=NOW + timedelta(seconds=1))
    lapsed = parent("parent-2", CHILD, valid_until=NOW)

    found = reminded(reminder, [SETTING], [current, lapsed], now=NOW, state=ConsentState())

    assert [a.subscriber.address for a in found] == ["parent/parent-1"]
