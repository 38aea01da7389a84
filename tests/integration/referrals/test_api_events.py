"""Every command of the referrals API emits its event of the right type, after commit, on the
real broker — and a command that brings an organisation onto the team, TeamMemberJoined too, in
the same transaction; refused commands emit nothing; the consent copy follows tac.consent.v1."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from uuid import UUID

import httpx
from sqlalchemy import func, select

from schemas.deadletter import DeadLetterRecord
from schemas.events.consent import ConsentGiver, ConsentGranted, ConsentWithdrawn, Recipients
from schemas.vocabulary import Agency, Category, Purpose
from services.common.kafka import make_producer, send_envelope
from services.referrals.adapters import tables as store
from services.referrals.domain import clock
from tests.integration.referrals.conftest import TopicReader, auth, consent_envelope, start_service


T = "tac.referrals."


async def _ok(response, status=(200, 201)) -> dict:
    assert response.status_code in (status if isinstance(status, tuple) else (status,)), response.text
    return response.json()


async def test_each_command_emits_its_events_and_refusals_emit_none(live_service, referrals_topic):
    s, post = live_service, live_service.client.post
    child = await s.register(date_of_birth="2023-03-15")  # 26 months: the review window is announced at once
    expected = ["child_registered", "integrated_review_window_opened"]

    await _ok(await post(f"/children/{child}/concerns", headers=auth("setting"), json={
        "areas_of_need": ["communication_and_interaction"], "summary": "Few words at 26 months", "evidence": "WellComm"}))
    expected.append("concern_raised")

    # Refused: no consent yet for the area SENCO (409), and nothing reaches the bus.
    r = await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice on strategies"})
    assert r.status_code == 409 and "no active consent covers la-inclusion-north/area_senco for referral" in r.json()["detail"]

    consent = s.grant_consent(child, agencies=[Agency.AREA_SENCO, Agency.EP_SERVICE], organisations=["nhs-slt-east"])
    made = await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice on strategies"}))
    assert made["consent_id"] == str(consent)
    accepted = await _ok(await post(f"/referrals/{made['referral_id']}/accept", headers=auth("area_senco")))
    assert accepted["team_event_id"]  # accepting puts the receiver on the team, in the same transaction
    await _ok(await post(f"/referrals/{made['referral_id']}/close", headers=auth("area_senco"), json={"outcome": "Strategies agreed"}))
    expected += ["referral_made", "referral_accepted", "team_member_joined", "referral_closed"]
    assert (await post(f"/referrals/{made['referral_id']}/accept", headers=auth("area_senco"))).status_code == 409

    slt_ref = await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "Expressive language"}))
    await _ok(await post(f"/referrals/{slt_ref['referral_id']}/decline", headers=auth("slt"), json={"reason": "Refer via GP"}))
    ep_ref = await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "ep-service-city", "to_agency": "ep_service", "reason": "Cognition"}))
    await _ok(await post(f"/referrals/{ep_ref['referral_id']}/withdraw", headers=auth("setting"), json={"reason": "Moved"}))
    expected += ["referral_made", "referral_declined", "referral_made", "referral_withdrawn"]

    # Refused: an SLT not on the team (it declined) may not share a report, nor add itself: to it
    # the child does not exist (404).
    report = {"assessment_summary": "Delayed expressive language", "programme": "Daily word play", "recommendations": ["Makaton"]}
    assert (await post(f"/children/{child}/slt-reports", headers=auth("slt"), json=report)).status_code == 404
    assert (await post(f"/children/{child}/team", headers=auth("slt"), json={"organisation_id": "nhs-slt-east"})).status_code == 404
    # The parent adds it; the setting invites the EP service, which accepts, advises and leaves.
    await _ok(await post(f"/children/{child}/team", headers=auth("parent", children=[child]),
                         json={"organisation_id": "nhs-slt-east"}))
    await _ok(await post(f"/children/{child}/slt-reports", headers=auth("slt"), json=report))
    invited = await _ok(await post(f"/children/{child}/invitations", headers=auth("setting"), json={
        "organisation_id": "ep-service-city", "message": "Please join the team around the child"}))
    await _ok(await post(f"/invitations/{invited['invitation_id']}/accept", headers=auth("ep")))
    await _ok(await post(f"/children/{child}/ep-advice", headers=auth("ep"), json={"summary": "Visual timetable"}))
    await _ok(await post(f"/children/{child}/team/ep-service-city/leave", headers=auth("ep"), json={"reason": "Work done"}))
    expected += ["team_member_joined", "slt_report_shared", "invitation_sent", "team_member_joined", "ep_advice_shared",
                 "team_member_left"]
    s.clock.now += timedelta(hours=1)

    s.grant_consent(child, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH, Category.REFERRAL])
    invited = await _ok(await post(f"/children/{child}/invitations", headers=auth("setting"), json={
        "organisation_id": "hv-team-west"}))
    await _ok(await post(f"/invitations/{invited['invitation_id']}/accept", headers=auth("hv")))
    expected += ["invitation_sent", "team_member_joined"]
    review = await _ok(await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={
        "scheduled_for": "2025-06-10", "with_organisation_id": "sunflowers-nursery"}))
    await _ok(await post(f"/integrated-reviews/{review['review_id']}/complete", headers=auth("setting"), json={
        "completed_on": "2025-06-02", "outcomes": {"communication_and_language": "below_expected",
                                                  "physical_development": "expected"}}))
    expected += ["integrated_review_scheduled", "integrated_review_completed"]

    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM, Agency.EP_SERVICE], categories=[Category.EHC])
    ehc = await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("parent", children=[child]),
                               json={"la_organisation_id": "la-sen-team"}))
    await _ok(await post(f"/ehc-requests/{ehc['request_id']}/start", headers=auth("la")))
    advice = await _ok(await post(f"/ehc-requests/{ehc['request_id']}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"}))
    assert advice["due"]["due_on"] == "2025-07-14"
    await _ok(await post(f"/ehc-advice/{advice['advice_id']}/submit", headers=auth("ep"), json={"summary": "Needs 1:1 support"}))
    draft = await _ok(await post(f"/ehc-requests/{ehc['request_id']}/draft-plan", headers=auth("la")))
    assert draft["comments_due_on"] == "2025-06-17"
    s.clock.now += timedelta(days=20)
    await _ok(await post(f"/ehc-requests/{ehc['request_id']}/final-plan", headers=auth("la"), json={
        "exceptions": ["family_absent_4_weeks"]}))
    # The addressee of a request is on the team before the request reaches the bus.
    expected += ["team_member_joined", "ehc_assessment_requested", "ehc_assessment_started", "team_member_joined",
                 "ehc_advice_requested", "ehc_advice_submitted", "ehc_draft_plan_issued", "ehc_plan_finalised"]

    s.grant_consent(child, organisations=["oak-primary"], categories=[Category.TRANSITION])
    await _ok(await post(f"/children/{child}/transition", headers=auth("setting"), json={
        "school_organisation_id": "oak-primary", "starts_on": "2027-09-01", "plan_summary": "Visits in June"}))
    s.clock.set_date(2027, 9, 3)
    await _ok(await post(f"/children/{child}/transition/complete", headers=auth("school")))
    await _ok(await post(f"/children/{child}/team", headers=auth("parent", children=[child]),
                         json={"organisation_id": "family-hub-central"}))
    await _ok(await post(f"/children/{child}/family-support", headers=auth("family"), json={"summary": "Stay and play"}))
    expected += ["team_member_joined", "transition_to_school_planned", "transition_to_school_completed",
                 "team_member_joined", "family_support_offered"]

    # A second child whose EHC request is declined.
    other = await s.register(given_name="Bea")  # 4½ and at school by now (2027-09-03): no review window
    s.grant_consent(other, organisations=["la-sen-team"], categories=[Category.EHC])
    declined = await _ok(await post(f"/children/{other}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"}))
    await _ok(await post(f"/ehc-requests/{declined['request_id']}/decline", headers=auth("la"), json={"reason": "Needs met at SEN support"}))

    events = await referrals_topic.read([child, other], at_least=len(expected) + 4)
    mine = [e for e in events if e.subject == child]
    assert [e.type for e in mine] == [f"{T}{name}.v1" for name in expected]
    assert [e.type for e in events if e.subject == other] == [
        f"{T}child_registered.v1", f"{T}team_member_joined.v1", f"{T}ehc_assessment_requested.v1",
        f"{T}ehc_assessment_declined.v1"]
    assert len({e.id for e in events}) == len(events)

    registered, announced = mine[0], mine[1]
    assert registered.data.setting_organisation_id == "sunflowers-nursery"
    # No date derived from the date of birth travels: the window is announced on the day instead.
    assert registered.data.due_dates == ()
    assert announced.data.announced_on.isoformat() == "2025-06-02" and announced.category == "health"
    assert announced.actor.organisation_id == "sunflowers-nursery" and announced.actor.role == "system"
    derived = [d.due_on.isoformat().encode() for d in clock.child_due_dates(date(2023, 3, 15))]
    for e in (registered, announced):
        assert not [d for d in derived if d in e.to_json_bytes()], e.type
    assert next(e for e in mine if e.type.endswith("referral_made.v1")).data.consent_id == consent
    requested = next(e for e in mine if e.type.endswith("ehc_assessment_requested.v1"))
    assert requested.actor.agency == Agency.PARENT and requested.data.requested_by == "parent"
    assert [d.due_on.isoformat() for d in requested.data.due_dates] == ["2025-07-14", "2025-09-22", "2025-10-20"]
    assert next(e for e in mine if e.type.endswith("ehc_plan_finalised.v1")).data.exceptions == ("family_absent_4_weeks",)
    # Answers name the organisation whose request they answer (DESIGN §3 rule 3).
    answers = {e.type.split(".")[2]: e.data for e in mine}
    for kind in ("referral_accepted", "referral_declined", "referral_withdrawn", "referral_closed"):
        assert answers[kind].requested_by_organisation_id == "sunflowers-nursery", kind
    assert answers["ehc_advice_submitted"].requested_by_organisation_id == "la-sen-team"
    assert answers["ehc_assessment_started"].requested_by_organisation_id is None  # the parent asked
    assert next(e for e in events if e.subject == other and e.type.endswith("ehc_assessment_declined.v1")
                ).data.requested_by_organisation_id == "sunflowers-nursery"
    joins = [(e.data.organisation_id, e.data.joined_through) for e in mine if e.type.endswith("team_member_joined.v1")]
    assert joins == [("la-inclusion-north", "referral_accepted"), ("nhs-slt-east", "parent"), ("ep-service-city", "invitation"),
                     ("hv-team-west", "invitation"), ("la-sen-team", "ehc_request"), ("ep-service-city", "advice_request"),
                     ("oak-primary", "transition_plan"), ("family-hub-central", "parent")]
    left = next(e for e in mine if e.type.endswith("team_member_left.v1"))
    assert left.data.ended_by == "left"
    # Personal details never travel on the bus (DESIGN §2).
    for e in events:
        raw = e.to_json_bytes()
        assert b"Alfie" not in raw and b"Example" not in raw and b"2023-03-15" not in raw

    with s.app.state.deps.sessions() as session:
        unsent = session.execute(select(func.count()).select_from(store.outbox).where(store.outbox.c.sent_at.is_(None))).scalar()
        total = session.execute(select(func.count()).select_from(store.outbox)).scalar()
    assert unsent == 0 and total == len(expected) + 4


async def test_an_event_is_published_only_once_its_transaction_has_committed(live_service, referrals_topic):
    s = live_service
    child = await s.register(date_of_birth="2024-12-01")  # too young for any announcement
    # A command that fails inside its transaction (the child's setting raises a concern about an
    # unknown child) leaves no outbox row, and nothing is published for it.
    r = await s.client.post(f"/children/{uuid.uuid4()}/concerns", headers=auth("setting"),
                            json={"areas_of_need": ["cognition_and_learning"], "summary": "x"})
    assert r.status_code == 404
    events = await referrals_topic.read([child], at_least=1)
    assert [e.type for e in events] == [f"{T}child_registered.v1"]
    with s.app.state.deps.sessions() as session:
        rows = session.execute(select(store.outbox.c.event_id, store.outbox.c.sent_at)).all()
    assert [UUID(r.event_id) for r in rows] == [events[0].id] and rows[0].sent_at is not None


async def test_a_departure_from_the_team_is_answered_only_once_its_event_is_on_the_topic(live_service):
    """So the timeline's next read, which waits for what is on the child's partition, never
    races the relay and shows the departed organisation what its place on the team allowed."""
    s, post = live_service, live_service.client.post
    child = await s.register(date_of_birth="2024-12-01")
    s.grant_consent(child, organisations=["nhs-slt-east", "family-hub-central"])
    for organisation in ("nhs-slt-east", "family-hub-central"):
        await _ok(await post(f"/children/{child}/team", headers=auth("parent", children=[child]),
                             json={"organisation_id": organisation}))
    removed = await _ok(await post(f"/children/{child}/team/nhs-slt-east/remove",
                                   headers=auth("parent", children=[child]), json={"reason": "No longer involved"}))
    # At each answer, the relay has had the broker's acknowledgement (sent_at is set after it).
    with s.app.state.deps.sessions() as session:
        sent_at = session.execute(select(store.outbox.c.sent_at).where(
            store.outbox.c.event_id == str(removed["event_id"]))).scalar_one()
    assert sent_at is not None
    left = await _ok(await post(f"/children/{child}/team/family-hub-central/leave", headers=auth("family"),
                                json={"reason": "Work done"}))
    with s.app.state.deps.sessions() as session:
        sent_at = session.execute(select(store.outbox.c.sent_at).where(
            store.outbox.c.event_id == str(left["event_id"]))).scalar_one()
    assert sent_at is not None


async def _wait_for(predicate, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_the_consent_copy_follows_the_consent_topic_and_dead_letters_what_it_cannot_read(
        database_url, kafka_bootstrap, fresh_topic):
    consent_topic, deadletter = await fresh_topic("referrals-consent"), await fresh_topic("referrals-dlq")
    app, clock, _ = await start_service(
        database_url, kafka_bootstrap, run_outbox_relay=False, consent_topic=consent_topic,
        deadletter_topic=deadletter, consent_group_id=f"test-referrals-consent-{uuid.uuid4().hex}")
    producer = make_producer(kafka_bootstrap, client_id="test-consent-producer")
    await producer.start()
    dlq = TopicReader(kafka_bootstrap, deadletter, parse=DeadLetterRecord.model_validate_json)
    await dlq.start()
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://referrals") as client:
                r = await client.post("/children", headers=auth("setting"), json={
                    "given_name": "Cy", "family_name": "Example", "date_of_birth": "2023-01-01"})
                child = UUID(r.json()["child_id"])
                consent_id = uuid.uuid4()
                grant = consent_envelope(child, ConsentGranted(
                    consent_id=consent_id,
                    given_by=ConsentGiver(person_id="p1", relationship="father", has_parental_responsibility=True),
                    recorded_on_behalf=False, recipients=Recipients(agencies=(Agency.AREA_SENCO,)),
                    categories=(Category.REFERRAL,), purposes=(Purpose.REFERRAL,),
                    valid_from=clock.now - timedelta(days=1), expires_at=clock.now + timedelta(days=300)))
                await send_envelope(producer, grant, topic=consent_topic)
                await send_envelope(producer, grant, topic=consent_topic)  # redelivered: a no-op
                # Unreadable, keyed by another child: parked, and that child (only) is held.
                other = uuid.uuid4()
                await producer.send_and_wait(consent_topic, b"{not json", key=str(other).encode())

                def stored() -> int:
                    with app.state.deps.sessions() as session:
                        # The consent events (the team events this service emits are kept there too).
                        return session.execute(select(func.count()).select_from(store.consent_events).where(
                            store.consent_events.c.event_type.startswith("tac.consent."))).scalar()

                await _wait_for(lambda: stored() == 1 and app.state.consent_consumer.dead_lettered == 1)
                with app.state.deps.sessions() as session:
                    assert [h["child_id"] for h in store.consent_copy.open_holds(session)] == [str(other)]
                body = {"to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice"}
                made = await client.post(f"/children/{child}/referrals", headers=auth("setting"), json=body)
                assert made.status_code == 201 and made.json()["consent_id"] == str(consent_id)

                await send_envelope(producer, consent_envelope(child, ConsentWithdrawn(
                    consent_id=consent_id, withdrawn_at=clock.now, recorded_on_behalf=False)), topic=consent_topic)
                await _wait_for(lambda: stored() == 2)
                refused = await client.post(f"/children/{child}/referrals", headers=auth("setting"), json=body)
                assert refused.status_code == 409
                assert stored() == 2
        parked = await dlq.read([], at_least=1, keep=lambda record: record.source_topic == consent_topic)
        assert len(parked) == 1 and parked[0].original == b"{not json" and "malformed JSON" in parked[0].reason
    finally:
        await dlq.stop()
        await producer.stop()
