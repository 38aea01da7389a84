"""The notifications store and handlers on a real database, SQLite and PostgreSQL alike: the
migration, idempotent consumption, the team copy, subscriptions, notifications with their jobs
and reports, reminders sent once, and job leases."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, update

from schemas.catalogue import parse_event
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.events.referrals import DueDate
from schemas.vocabulary import Agency, AreaOfNeed, Category, TeamJoinRoute, TeamLeaveRoute
from services.common.db import make_engine, make_session_factory, run_migrations
from services.notifications.service_layer import handlers
from services.notifications.adapters import jobs, store
from services.notifications.adapters.tables import delivery_jobs
from services.notifications.bootstrap import MIGRATIONS
from services.notifications.domain.recipients import Audience, Subscriber
from services.notifications.domain.reminders import INTEGRATED_REVIEW
from tests.integration.common.support import drift_from_migrations
from tests.integration.notifications.inbox_delivery import deliver_inbox
from tests.unit.notifications.builders import (
    EP, SETTING, SLT, actor, consent_granted, consent_withdrawn, envelope, parent, practitioner,
)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
OUT = handlers.Outputs("https://tac.example.test", "nt-notifications", email_enabled=True)


@pytest.fixture
def sessions(database_url):
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def source_of(event, offset=0) -> store.Source:
    return store.Source("nt-referrals", 0, offset, event.actor, event.correlationid)


def apply(sessions, *events, now=NOW) -> list[int]:
    told = []
    for i, event in enumerate(events):
        with sessions.begin() as session:
            told.append(handlers.handle_event(session, event, source_of(event, i), OUT, now))
    return told


def subscribe(sessions, *subscribers: Subscriber, secret="s3cret-s3cret-s3cret"):
    with sessions.begin() as session:
        for sub in subscribers:
            store.put_subscription(session, sub, secret if sub.webhook_url else None, NOW)


def count(sessions, table) -> int:
    with sessions() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def inbox_of(sessions, sub: Subscriber) -> list[jobs.InboxItem]:
    deliver_inbox(sessions)
    with sessions() as session:
        return jobs.inbox_items(session, sub.person_id, sub.scope, unread_only=False, limit=100)


def concern(child, by=None):
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
                           summary="private words")
    return envelope(data, child, by=by or actor(SETTING, "senco-1"), at=NOW)


def team(child, *orgs):
    events = [envelope(r.ChildRegistered(setting_organisation_id=SETTING), child, at=NOW)]
    events += [envelope(r.TeamMemberJoined(organisation_id=o, agency=Agency.SLT_SERVICE, role="member", joined_through=TeamJoinRoute.REFERRAL_ACCEPTED), child, at=NOW)
               for o in orgs]
    return events


def test_the_migration_creates_exactly_the_tables_the_store_describes(database_url, sessions):
    assert drift_from_migrations(database_url, store.metadata) == []


def test_an_event_delivered_twice_notifies_once(sessions):
    child = uuid4()
    ep = practitioner(EP, email="ep@example.test")
    subscribe(sessions, ep)
    apply(sessions, *team(child, EP), consent_granted(child, orgs=(EP,)))
    raised = concern(child)

    assert apply(sessions, raised, raised) == [1, 0]
    assert [i.about.event_id for i in inbox_of(sessions, ep)].count(raised.id) == 1


def test_the_team_is_the_setting_plus_joiners_minus_leavers(sessions):
    child = uuid4()
    apply(sessions, *team(child, SLT, EP), envelope(r.TeamMemberLeft(organisation_id=SLT, ended_by=TeamLeaveRoute.REMOVED_BY_PARENT), child, at=NOW))

    with sessions() as session:
        assert store.consent_state(session, child).team_members(child, NOW) == {SETTING, EP}


def test_a_subscription_is_replaced_not_duplicated_and_a_parents_children_are_kept(sessions):
    child = uuid4()
    subscribe(sessions, practitioner(EP, "ep-1", email="old@example.test"))
    subscribe(sessions, practitioner(EP, "ep-1", webhook_url="https://hooks.example.test/ep"),
              parent("parent-1", child))

    with sessions() as session:
        ep = store.get_subscription(session, "ep-1", EP)
        mum = store.get_subscription(session, "parent-1", "parent")
    assert (ep.subscriber.email, ep.subscriber.webhook_url, ep.webhook_secret) == (
        None, "https://hooks.example.test/ep", "s3cret-s3cret-s3cret")
    assert mum.subscriber.children == {child}
    assert count(sessions, store.subscriptions) == 2


def test_each_recipient_gets_an_inbox_item_reported_sent_once_the_worker_decided_it_and_a_job_per_channel(sessions):
    child = uuid4()
    ep = practitioner(EP, email="ep@example.test", webhook_url="https://hooks.example.test/ep")
    mum = parent("parent-1", child)
    subscribe(sessions, ep, mum, practitioner(SLT, email="slt@example.test"))
    apply(sessions, *team(child, SLT, EP), consent_granted(child, orgs=(EP,), categories=(Category.CONCERN,)))
    deliver_inbox(sessions)
    outbox_before = count(sessions, store.outbox)
    raised = concern(child)

    assert apply(sessions, raised) == [2]
    # Nothing told yet: the inbox is a channel the delivery worker decides, like the others.
    with sessions() as session:
        assert jobs.inbox_items(session, ep.person_id, ep.scope, unread_only=False, limit=10) == []
    assert count(sessions, store.outbox) == outbox_before

    [ep_item] = [i for i in inbox_of(sessions, ep) if i.about.event_id == raised.id]
    assert ep_item.title == "A concern was raised" and "private words" not in ep_item.text
    assert ep_item.link == f"https://tac.example.test/children/{child}/timeline#{raised.id}"
    assert [i.about.event_id for i in inbox_of(sessions, practitioner(SLT))] == []
    with sessions() as session:
        ep_jobs = jobs.jobs_for(session, ep_item.notification_id)
        reports = session.execute(select(store.outbox.c.payload).order_by(store.outbox.c.id)).scalars().all()
    assert sorted((j.channel.value, j.target, j.status) for j in ep_jobs) == [
        ("email", "ep@example.test", "pending"), ("inbox", "inbox", "sent"),
        ("webhook", "https://hooks.example.test/ep", "pending")]
    new_reports = [parse_event(p) for p in reports[outbox_before:]]
    assert sorted((e.data.recipient_id, e.data.channel.value) for e in new_reports) == [
        (ep.person_id, "inbox"), ("parent-1", "inbox")]
    assert {e.causationid for e in new_reports} == {str(raised.id)}
    assert json.loads(ep_jobs[0].body)["about_event_id"] == str(raised.id)


def test_a_withdrawn_organisation_is_told_of_no_later_entry(sessions):
    child = uuid4()
    ep = practitioner(EP)
    subscribe(sessions, ep)
    grant = consent_granted(child, orgs=(EP,))
    apply(sessions, *team(child, EP), grant)
    first = concern(child)
    apply(sessions, first)
    deliver_inbox(sessions)
    apply(sessions, consent_withdrawn(child, grant.data.consent_id))

    assert apply(sessions, concern(child)) == [0]
    concerns = [i.about.event_id for i in inbox_of(sessions, ep) if i.about.about == r.ConcernRaised.TYPE]
    assert concerns == [first.id]


def test_a_withdrawal_applied_before_the_worker_decides_an_inbox_job_withholds_it(sessions):
    # The entry was announced on a copy that had not yet applied the withdrawal (it travels on
    # another topic); the worker decides again on the copy as it is when it delivers.
    child = uuid4()
    ep = practitioner(EP)
    subscribe(sessions, ep)
    grant = consent_granted(child, orgs=(EP,))
    apply(sessions, *team(child, EP), grant)
    deliver_inbox(sessions)
    raised = concern(child)
    assert apply(sessions, raised, consent_withdrawn(child, grant.data.consent_id)) == [1, 0]

    assert [i.about.event_id for i in inbox_of(sessions, ep) if i.about.about == r.ConcernRaised.TYPE] == []
    with sessions() as session:
        [job] = session.execute(select(delivery_jobs.c.channel, delivery_jobs.c.status, delivery_jobs.c.last_error)
                                .where(delivery_jobs.c.about_event_id == str(raised.id))).all()
    assert (job.channel, job.status) == ("inbox", "withheld") and job.last_error.startswith("no longer permitted")


def _review(child, on: date, review_id=None):
    data = r.IntegratedReviewScheduled(review_id=review_id or uuid4(), scheduled_for=on)
    return envelope(data, child, by=actor(SETTING, "senco-1"), at=NOW)


def test_a_due_reminder_goes_once_to_each_person_however_often_and_wherever_the_tick_runs(sessions, database_url):
    child = uuid4()
    today = handlers.england_today(NOW)
    setting, mum = practitioner(SETTING, email="senco@example.test"), parent("parent-1", child)
    subscribe(sessions, setting, mum)
    apply(sessions, *team(child), _review(child, today))

    first = handlers.send_due_reminders(sessions, OUT, NOW)
    again = handlers.send_due_reminders(sessions, OUT, NOW + timedelta(hours=1))
    other_engine = make_engine(database_url)  # a restarted process, or a second worker
    try:
        elsewhere = handlers.send_due_reminders(make_session_factory(other_engine), OUT, NOW + timedelta(hours=2))
    finally:
        other_engine.dispose()

    assert (first, again, elsewhere) == (2, 0, 0)
    reminded = [i for i in inbox_of(sessions, setting) + inbox_of(sessions, mum) if i.about.about == INTEGRATED_REVIEW]
    assert len(reminded) == 2 and all("today" in i.text for i in reminded)
    assert count(sessions, store.reminder_sends) == 2


def test_a_reminder_a_second_worker_also_picked_up_is_not_sent_again(sessions):
    child = uuid4()
    setting = practitioner(SETTING)
    subscribe(sessions, setting)
    apply(sessions, *team(child), _review(child, handlers.england_today(NOW)))
    assert handlers.send_due_reminders(sessions, OUT, NOW) == 1
    # A second worker read the reminder as pending before the first one settled it.
    with sessions.begin() as session:
        session.execute(update(store.reminders).where(store.reminders.c.offset_days == 0).values(status="pending"))

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 0
    assert len(inbox_of(sessions, setting)) == 1


def test_break_glass_access_tells_the_granted_organisations_safeguarding_lead_only(sessions):
    child = uuid4()
    dsl = practitioner("org-la-safeguarding", "dsl-1", role="designated_safeguarding_lead")
    colleague = practitioner("org-la-safeguarding", "worker-2")
    subscribe(sessions, dsl, colleague, parent("parent-1", child))
    grant = c.SafeguardingAccessGranted(
        grant_id=uuid4(), organisation_id="org-la-safeguarding", justification="Disclosure at nursery this morning.",
        granted_at=NOW - timedelta(minutes=1), expires_at=NOW + timedelta(hours=24))
    apply(sessions, *team(child), envelope(grant, child, by=actor("org-la-safeguarding", "duty-1"), at=NOW))

    assert [(i.title, i.until) for i in inbox_of(sessions, dsl)] == [
        ("Safeguarding access to the child's record was granted", grant.expires_at)]
    assert inbox_of(sessions, colleague) == []
    assert [i.about.about for i in inbox_of(sessions, parent("parent-1", child))] == [r.ChildRegistered.TYPE]


def test_break_glass_access_is_not_announced_to_the_team_a_consent_covering_consent_reaches(sessions):
    child = uuid4()
    setting_dsl = practitioner(SETTING, "dsl-hana", role="designated_safeguarding_lead")
    setting_senco, slt, ep = practitioner(SETTING, "senco-1"), practitioner(SLT, "slt-1"), practitioner(EP, "ep-2")
    ep_dsl = practitioner(EP, "dsl-ep", role="designated_safeguarding_lead")
    mum = parent("parent-1", child)
    subscribe(sessions, setting_dsl, setting_senco, slt, ep, ep_dsl, mum)
    apply(sessions, *team(child, SLT, EP), consent_granted(child, orgs=(SETTING, SLT, EP), categories=tuple(Category)))
    grant = c.SafeguardingAccessGranted(
        grant_id=uuid4(), organisation_id=EP, justification="Disclosure at nursery this morning.",
        granted_at=NOW - timedelta(minutes=1), expires_at=NOW + timedelta(hours=24))

    assert apply(sessions, envelope(grant, child, by=actor(EP, "dsl-ep-granting"), at=NOW)) == [2]

    def told(sub):
        return [i for i in inbox_of(sessions, sub) if i.about.about == c.SafeguardingAccessGranted.TYPE]
    [item] = told(setting_dsl)
    assert "you can see the grant in TAC under the child's safeguarding access" in item.text
    assert len(told(ep_dsl)) == 1
    assert told(setting_senco) == told(slt) == told(ep) == told(mum) == []


def test_the_tick_after_an_outage_sends_the_on_the_day_reminder_and_not_the_week_before_one(sessions):
    child = uuid4()
    setting = practitioner(SETTING)
    subscribe(sessions, setting)
    today = handlers.england_today(NOW)
    apply(sessions, *team(child), _review(child, today))

    handlers.send_due_reminders(sessions, OUT, NOW)

    with sessions() as session:
        statuses = dict(session.execute(select(store.reminders.c.offset_days, store.reminders.c.status)).all())
    assert statuses == {7: "superseded", 0: "sent"}
    [item] = inbox_of(sessions, setting)
    assert (item.due_on, item.until) == (today, None)


def test_a_cancelled_reminder_is_never_sent_and_a_rescheduled_one_moves(sessions):
    child = uuid4()
    setting = practitioner(SETTING)
    subscribe(sessions, setting)
    today = handlers.england_today(NOW)
    done_id, moved_id = uuid4(), uuid4()
    completed = r.IntegratedReviewCompleted(review_id=done_id, completed_on=today,
                                            outcomes={"physical_development": "expected"})
    apply(sessions, *team(child), _review(child, today, done_id), envelope(completed, child, at=NOW),
          _review(child, today, moved_id), _review(child, today + timedelta(days=30), moved_id))

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 0
    with sessions() as session:
        rows = session.execute(select(store.reminders.c.ref, store.reminders.c.status, store.reminders.c.due_on)).all()
    assert {(ref, status) for ref, status, _ in rows if ref == str(done_id)} == {(str(done_id), "cancelled")}
    assert {due for ref, _, due in rows if ref == str(moved_id)} == {today + timedelta(days=30)}


def test_dates_from_registration_are_reminded_to_the_setting_that_registered_the_child(sessions):
    child = uuid4()
    setting = practitioner(SETTING)
    subscribe(sessions, setting)
    today = handlers.england_today(NOW)
    due = DueDate(kind="setting_review", due_on=today + timedelta(days=7), reference="The setting's own plan")
    apply(sessions, envelope(r.ChildRegistered(setting_organisation_id=SETTING, due_dates=(due,)), child, at=NOW))

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 1
    [item] = inbox_of(sessions, setting)
    assert item.title == "Setting review is due"
    # A kind this build does not know is told without its day: a registration's day may be an age.
    assert "the date is on the child's record in TAC" in item.text
    assert (today + timedelta(days=7)).isoformat() not in item.text and item.due_on is None


def test_an_age_derived_date_from_an_older_registration_is_reminded_without_its_date(sessions):
    child = uuid4()
    setting = practitioner(SETTING, email="senco@example.test")
    subscribe(sessions, setting)
    today = handlers.england_today(NOW)
    due_on = today + timedelta(days=7)
    due = DueDate(kind="integrated_review_window_opens", due_on=due_on, reference="EYFS")
    apply(sessions, envelope(r.ChildRegistered(setting_organisation_id=SETTING, due_dates=(due,)), child, at=NOW))

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 1
    [item] = inbox_of(sessions, setting)
    with sessions() as session:
        [job] = [j for j in jobs.jobs_for(session, item.notification_id) if j.channel.value != "inbox"]
    for text in (item.text, job.text, job.body.decode()):
        assert due_on.isoformat() not in text and "in 7 days" not in text
    assert item.due_on is None and job.due_on is None


# --- the integrated review window, announced on the day ---------------------------------------------

HV = "org-hv"


def window_opened(child, on: date, by=None):
    return envelope(r.IntegratedReviewWindowOpened(announced_on=on), child, by=by or actor(SETTING, "senco-1"), at=NOW)


def test_the_integrated_review_window_opening_reminds_each_permitted_person_once_and_is_not_announced_besides(
    sessions,
):
    child = uuid4()
    today = handlers.england_today(NOW)
    setting, hv, slt = practitioner(SETTING, "senco-1"), practitioner(HV, "hv-1"), practitioner(SLT, "slt-1")
    mum = parent("parent-1", child, email="mum@example.test")
    subscribe(sessions, setting, hv, slt, mum)
    apply(sessions, *team(child, HV, SLT),
          consent_granted(child, orgs=(HV,), categories=(Category.HEALTH,)),
          consent_granted(child, orgs=(SLT,), categories=(Category.SLT,)))
    seen_before = {p.person_id: len(inbox_of(sessions, p)) for p in (setting, hv, slt, mum)}

    assert apply(sessions, window_opened(child, today)) == [0]
    assert {p.person_id: len(inbox_of(sessions, p)) for p in (setting, hv, slt, mum)} == seen_before

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 3
    apply(sessions, window_opened(child, today))  # announced again (a re-run of the referrals job)
    assert handlers.send_due_reminders(sessions, OUT, NOW + timedelta(minutes=1)) == 0

    def windows(p):
        return [i for i in inbox_of(sessions, p) if i.about.about == "integrated_review_window_opens"]
    assert {p.person_id: len(windows(p)) for p in (setting, hv, slt, mum)} == {
        "senco-1": 1, "hv-1": 1, "slt-1": 0, "parent-1": 1}
    [mums] = windows(mum)
    with sessions() as session:
        [job] = [j for j in jobs.jobs_for(session, mums.notification_id) if j.channel.value != "inbox"]
    assert job.channel.value == "email" and today.isoformat() not in job.text
    assert "due_on" not in json.loads(job.body)


def test_a_window_opening_announced_long_ago_is_not_reminded_on_a_replay(sessions):
    child = uuid4()
    setting = practitioner(SETTING, "senco-1")
    subscribe(sessions, setting)
    apply(sessions, *team(child), window_opened(child, handlers.england_today(NOW) - timedelta(days=30)))

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 0


# --- a parent's children are vouched for until their subscribing token expires --------------------


def test_after_a_parents_token_expired_new_entries_reach_their_inbox_but_nothing_is_emailed_or_posted(sessions):
    child = uuid4()
    current = parent("parent-1", child, valid_until=NOW + timedelta(hours=1), email="one@example.test",
                     webhook_url="https://hooks.example.test/one")
    lapsed = parent("parent-2", child, valid_until=NOW - timedelta(seconds=1), email="two@example.test",
                    webhook_url="https://hooks.example.test/two")
    subscribe(sessions, current, lapsed)
    raised = concern(child)
    apply(sessions, *team(child), raised)

    def jobs_of(p):
        [item] = [i for i in inbox_of(sessions, p) if i.about.event_id == raised.id]
        with sessions() as session:
            return sorted(j.channel.value for j in jobs.jobs_for(session, item.notification_id))
    assert jobs_of(current) == ["email", "inbox", "webhook"]
    assert jobs_of(lapsed) == ["inbox"]


def test_reminders_reach_a_parent_only_while_their_subscribing_token_is_valid(sessions):
    child = uuid4()
    current = parent("parent-1", child, valid_until=NOW + timedelta(hours=1))
    lapsed = parent("parent-2", child, valid_until=NOW - timedelta(seconds=1))
    unknown = parent("parent-3", child, valid_until=None)  # subscribed before the expiry was kept
    subscribe(sessions, current, lapsed, unknown)
    apply(sessions, *team(child), _review(child, handlers.england_today(NOW)))

    assert handlers.send_due_reminders(sessions, OUT, NOW) == 1
    reminded = {p.person_id for p in (current, lapsed, unknown)
                if any(i.about.about == INTEGRATED_REVIEW for i in inbox_of(sessions, p))}
    assert reminded == {"parent-1"}


def test_a_parent_subscription_keeps_the_expiry_of_the_token_that_named_the_children(sessions):
    child = uuid4()
    until = NOW + timedelta(minutes=42)
    subscribe(sessions, parent("parent-1", child, valid_until=until), practitioner(EP, "ep-1"))

    with sessions() as session:
        mum = store.get_subscription(session, "parent-1", "parent").subscriber
        ep = store.get_subscription(session, "ep-1", EP).subscriber
        [candidate] = [s for s in store.subscribers_for(session, child, Audience(frozenset())) if s.is_parent]
    assert (mum.children, mum.children_valid_until, candidate.children_valid_until) == ({child}, until, until)
    assert ep.children_valid_until is None


def test_a_leased_job_cannot_be_taken_again_until_the_lease_runs_out(sessions):
    child = uuid4()
    ep = practitioner(EP, email="ep@example.test")
    subscribe(sessions, ep)
    apply(sessions, *team(child, EP), consent_granted(child, orgs=(EP,), categories=(Category.CONCERN,)),
          concern(child))
    deliver_inbox(sessions)
    with sessions() as session:
        [job] = jobs.due_jobs(session, NOW, limit=10)

    with sessions.begin() as session:
        assert jobs.lease(session, job.job_id, NOW, NOW + timedelta(seconds=60))
    with sessions.begin() as session:
        assert not jobs.lease(session, job.job_id, NOW + timedelta(seconds=30), NOW + timedelta(seconds=90))
        assert jobs.due_jobs(session, NOW + timedelta(seconds=30), limit=10) == []
    with sessions.begin() as session:
        assert jobs.lease(session, job.job_id, NOW + timedelta(seconds=61), NOW + timedelta(seconds=120))


# --- upgrading a store from before issue 10 ------------------------------------------------------


def _alembic(database_url: str, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    getattr(command, action)(config, revision)


def test_upgrading_a_store_from_0003_keeps_each_registered_childs_setting_on_its_team(database_url):
    """Before issue 10 the store kept the team in `team_members` and no ChildRegistered in the
    decision's state: after the upgrade each child's setting is on its team again (told of its
    entries, its DSL told of break-glass access), an old self-join is not, and `team_members`
    is gone."""
    registered, self_joined, already, tied = uuid4(), uuid4(), uuid4(), uuid4()
    before = NOW - timedelta(days=30)
    _alembic(database_url, "upgrade", "0003")
    engine = make_engine(database_url)
    old_team = sa.table("team_members", sa.column("child_id", sa.String), sa.column("organisation_id", sa.String),
                        sa.column("agency", sa.String), sa.column("joined_at", sa.DateTime(timezone=True)))
    try:
        with engine.begin() as connection:  # what the store held: team rows, and no team state
            connection.execute(old_team.insert(), [
                dict(child_id=str(registered), organisation_id=SETTING, agency="setting", joined_at=before),
                dict(child_id=str(registered), organisation_id=EP, agency="ep_service", joined_at=before + timedelta(1)),
                # Another nursery that added itself to the team later (issue 10): not the setting.
                dict(child_id=str(registered), organisation_id="org-nosy-nursery", agency="setting",
                     joined_at=before + timedelta(2)),
                # A child registered without `team_members` rows ever being read again.
                dict(child_id=str(self_joined), organisation_id="org-other-setting", agency="setting",
                     joined_at=before),
                dict(child_id=str(already), organisation_id="org-old", agency="setting", joined_at=before),
                dict(child_id=str(tied), organisation_id="org-a", agency="setting", joined_at=before),
                dict(child_id=str(tied), organisation_id="org-b", agency="setting", joined_at=before),
            ])
            # A child whose registration the store already kept (consumed by a later revision).
            kept = envelope(r.ChildRegistered(setting_organisation_id=SETTING), already, at=before)
            connection.execute(store.consent_events.insert().values(
                event_id=str(kept.id), child_id=str(already), event_type=kept.type,
                envelope=kept.to_json_bytes().decode()))
        _alembic(database_url, "upgrade", "head")
        sessions = make_session_factory(engine)

        with sessions() as session:
            def team_now(child):
                return store.consent_state(session, child).team_members(child, NOW)
            assert team_now(registered) == {SETTING}  # the EP and the nosy nursery re-join by relationship
            assert store.setting_of(session, registered) == SETTING
            assert team_now(self_joined) == {"org-other-setting"}
            assert team_now(already) == {SETTING} and store.setting_of(session, already) == SETTING
            assert team_now(tied) == set()  # cannot tell which registered it: neither
            assert "team_members" not in sa.inspect(session.connection()).get_table_names()

        # The setting is told again: its practitioners of a concern, its DSL of break-glass access.
        dsl = practitioner(SETTING, "dsl-hana", role="designated_safeguarding_lead")
        subscribe(sessions, dsl)
        grant = c.SafeguardingAccessGranted(
            grant_id=uuid4(), organisation_id=EP, justification="Disclosure at nursery this morning.",
            granted_at=NOW - timedelta(minutes=1), expires_at=NOW + timedelta(hours=24))
        assert apply(sessions, envelope(grant, registered, by=actor(EP, "dsl-ep"), at=NOW)) == [1]
        assert [i.about.about for i in inbox_of(sessions, dsl)] == [c.SafeguardingAccessGranted.TYPE]

        # Down and up again: the table comes back with the team, and nothing is copied twice.
        _alembic(database_url, "downgrade", "0003")
        with engine.connect() as connection:
            rows = {(row.child_id, row.organisation_id) for row in connection.execute(sa.select(old_team))}
            assert (str(registered), SETTING) in rows and (str(already), SETTING) in rows
        _alembic(database_url, "upgrade", "head")
        with sessions() as session:
            assert store.consent_state(session, registered).team_members(registered, NOW) == {SETTING}
            assert session.execute(select(func.count()).select_from(store.consent_events).where(
                store.consent_events.c.child_id == str(registered),
                store.consent_events.c.event_type == r.ChildRegistered.TYPE)).scalar_one() == 1
    finally:
        engine.dispose()
