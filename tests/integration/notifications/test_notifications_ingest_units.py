"""The consumer applies a batch in units of many events, with what announce_entry reads looked
up once per unit (handlers.prepare): it must tell exactly whom applying the same events one at
a time, each reading everything afresh, tells — across team joins and leaves, withdrawals,
break-glass grants and children no subscriber could hear of, in the same unit. SQLite and
PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import json

import pytest
from sqlalchemy import select

from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.topics import CONSENT, REFERRALS
from schemas.vocabulary import Agency, AreaOfNeed, Category, TeamJoinRoute, TeamLeaveRoute
from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.messagebus import Consumed
from services.common.incoming import Incoming, parse_batch
from services.notifications.adapters import jobs, store
from services.notifications.bootstrap import MIGRATIONS
from services.notifications.service_layer import handlers
from tests.unit.notifications.builders import EP, OTHER_SETTING, SETTING, SLT, actor, consent_granted, envelope, parent, practitioner

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


def registered(child, setting=SETTING):
    return envelope(r.ChildRegistered(setting_organisation_id=setting), child, at=NOW - timedelta(days=2))


def joined(child, org, agency):
    return envelope(r.TeamMemberJoined(organisation_id=org, agency=agency, role="member",
                                       joined_through=TeamJoinRoute.REFERRAL_ACCEPTED), child, by=actor(org, "lead"),
                    at=NOW - timedelta(days=1))


def left(child, org):
    return envelope(r.TeamMemberLeft(organisation_id=org, ended_by=TeamLeaveRoute.REMOVED_BY_PARENT), child,
                    at=NOW - timedelta(hours=1))


def concern(child, by=None):
    return envelope(r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,),
                                    summary="words"), child, by=by or actor(OTHER_SETTING, "senco-2"), at=NOW)


def stream(a, b, q, d, e, g) -> tuple[list, list]:
    """A first batch (what each child's copy holds already), then the batch under test. a: a
    subscribed parent only; b: no subscriber until a subscribed SLT joins mid-unit; q: no
    subscriber ever; d: a subscribed EP on its team, then removed; e: a consent withdrawn
    mid-unit; g: break-glass access granted (its setting's DSL is subscribed). Reminders: q's
    consent (expiry reminded) granted and withdrawn in the unit, d's review scheduled before and
    moved twice in it, b's scheduled in it and moved."""
    grant_e = consent_granted(e, orgs=(SLT,), categories=tuple(Category))
    grant_q = consent_granted(q, orgs=(OTHER_SETTING,), expires_at=NOW + timedelta(days=20))
    review_d, review_b = uuid4(), uuid4()
    before = [
        registered(a, OTHER_SETTING),
        registered(b, OTHER_SETTING), consent_granted(b, agencies=(Agency.SLT_SERVICE,), categories=tuple(Category)),
        registered(q, OTHER_SETTING),
        registered(d), joined(d, EP, Agency.EP_SERVICE), consent_granted(d, orgs=(EP,), categories=tuple(Category)),
        registered(e), joined(e, SLT, Agency.SLT_SERVICE), grant_e,
        registered(g),
        review(d, review_d, 30),
    ]
    batch = [
        concern(a),
        concern(b), joined(b, SLT, Agency.SLT_SERVICE), concern(b),
        unknown_consent_fact(b), concern(b),  # held: the SLT is told nothing more of b
        concern(q), grant_q, concern(q),
        envelope(c.ConsentWithdrawn(consent_id=grant_q.data.consent_id, withdrawn_at=NOW, recorded_on_behalf=True),
                 q, by=actor(SETTING, "senco-1"), at=NOW),
        review(d, review_d, 40), review(d, review_d, 50), review(b, review_b, 20), review(b, review_b, 25),
        concern(d), unknown_consent_fact(d), concern(d), left(d, EP), concern(d),
        concern(e),
        envelope(c.ConsentWithdrawn(consent_id=grant_e.data.consent_id, withdrawn_at=NOW, recorded_on_behalf=True),
                 e, by=actor(SETTING, "senco-1"), at=NOW),
        concern(e),
        envelope(c.SafeguardingAccessGranted(
            grant_id=uuid4(), organisation_id=EP, justification="Disclosure at nursery this morning.",
            granted_at=NOW - timedelta(minutes=1), expires_at=NOW + timedelta(hours=24)), g, by=actor(EP, "dsl-ep"),
            at=NOW),
        concern(g),
    ]
    return before, batch


def unknown_consent_fact(child) -> Consumed:
    """An event of a type this build does not know, on the consent topic: it holds the child."""
    body = json.loads(concern(child).to_json_bytes())
    body["type"] = "tac.consent.consent_paused.v1"
    [(message, parsed)] = parse_batch([Incoming(json.dumps(body).encode(), str(child).encode(), CONSENT.name, 0, 0,
                                                CONSENT)]).valid
    return Consumed(parsed, message)


def review(child, review_id, in_days):
    return envelope(r.IntegratedReviewScheduled(review_id=review_id, scheduled_for=(NOW + timedelta(days=in_days)).date()),
                    child, by=actor(SETTING, "senco-1"), at=NOW)


def consumed(events) -> list[Consumed]:
    out = []
    for offset, event in enumerate(events):
        if isinstance(event, Consumed):
            out.append(event)
            continue
        topic = CONSENT if event.type.startswith("tac.consent") else REFERRALS
        out.append(Consumed(event, Incoming(event.to_json_bytes(), event.key, topic.name, 0, offset, topic)))
    return out


def told(sessions, events) -> set[tuple]:
    """(the event's place in the stream, person, scope, channel) for every item and job made."""
    place = {str(e.envelope.id if isinstance(e, Consumed) else e.id): n for n, e in enumerate(events)}
    with sessions() as session:
        rows = {(place[row.about_event_id], row.person_id, row.scope, "inbox")
                for row in session.execute(select(jobs.inbox)) if row.about_event_id in place}
        rows |= {(place[row.about_event_id], row.person_id, row.scope, row.channel)
                 for row in session.execute(select(jobs.delivery_jobs)) if row.about_event_id in place}
    return rows


def kept(sessions, children: list[UUID]) -> tuple[set[tuple], list[int]]:
    """The children's reminders (child's place, kind, offset, status, due) and how many
    events the consent copy keeps of each."""
    place = {str(child): n for n, child in enumerate(children)}
    with sessions() as session:
        scheduled = {(place[row.child_id], row.kind, row.offset_days, row.status, row.due_on)
                     for row in session.execute(select(store.reminders)) if row.child_id in place}
        copied = [0] * len(children)
        for row in session.execute(select(store.consent_events.c.child_id)):
            if row.child_id in place:
                copied[place[row.child_id]] += 1
    return scheduled, copied


def test_units_with_prepared_lookups_tell_exactly_whom_one_event_at_a_time_tells(sessions):
    children: list[list[UUID]] = [[uuid4() for _ in range(6)] for _ in range(2)]
    subscribers = [
        parent("mum", children[0][0], children[1][0], email="mum@example.test"),
        practitioner(SLT, "slt-1", email="slt@example.test"),
        practitioner(EP, "ep-1", webhook_url="https://hooks.example.test/ep"),
        practitioner(EP, "dsl-ep", role="designated_safeguarding_lead"),
        practitioner(SETTING, "dsl-setting", role="designated_safeguarding_lead", email="dsl@example.test"),
    ]
    with sessions.begin() as session:
        for sub in subscribers:
            store.put_subscription(session, sub, "s3cret-s3cret-s3cret" if sub.webhook_url else None, NOW)
    transactions = handlers.transactions(sessions, clock=lambda: NOW)
    (before_1, one_at_a_time), (before_2, in_units) = stream(*children[0]), stream(*children[1])

    # Each event in its own transaction, nothing prepared: every lookup made afresh.
    plain = handlers.bus(OUT)
    plain.prepare = None
    for batch in (before_1, one_at_a_time):
        plain.sink(transactions, unit_per_event=True).ingest(consumed(batch))
    # As bootstrap composes it: each batch fits one unit.
    for batch in (before_2, in_units):
        handlers.bus(OUT).sink(transactions, unit_events=handlers.UNIT_EVENTS).ingest(consumed(batch))

    expected = told(sessions, one_at_a_time)
    assert told(sessions, in_units) == expected
    # The stream does reach people (else the comparison proves nothing): the parent of a, the
    # SLT after it joined b, the EP before it left d, the SLT before e's consent was withdrawn,
    # and the DSLs of the break-glass grant.
    people = {(person, channel) for _, person, _, channel in expected}
    assert {("mum", "inbox"), ("mum", "email"), ("slt-1", "inbox"), ("slt-1", "email"), ("ep-1", "webhook"),
            ("dsl-ep", "inbox"), ("dsl-setting", "inbox")} <= people
    assert {place for place, *_ in expected} & {5, 6, 7, 8, 9} == set()  # b's after the hold, q's: no one
    assert 3 in {place for place, *_ in expected}  # b's after the join, before the hold
    assert 14 in {place for place, *_ in expected} and 16 not in {place for place, *_ in expected}  # d's, held
    # The same consent copy and reminders, whether looked up per event or once per unit.
    reminders, copied = kept(sessions, children[1])
    assert (reminders, copied) == kept(sessions, children[0])
    assert {status for *_, status, _ in reminders} == {"pending", "cancelled"}
