"""The timeline service on the real broker: Faust agent in, HTTP out, TimelineViewed and the
dead-letter topic out, with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from uuid import uuid4

from schemas.catalogue import parse_event
from schemas.events import referrals as r
from schemas.envelope import Actor
from schemas.vocabulary import Agency, Category, TeamJoinRoute, TeamLeaveRoute
from tests.integration.timeline.conftest import read_topic, token_for
from tests.unit.timeline.timeline_builders import (
    EP, HV, PARENT, SETTING, SETTING_ORG, SLT, SLT_ORG, concern, envelope, granted_payload, joined, left, sample,
    withdrawn,
)


def recent(minutes: int = 0) -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=minutes)


def entries_of(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(e["event_id"], e["basis"]) for e in response.json()["entries"]]


async def test_produced_events_are_shown_to_permitted_viewers_with_their_basis_and_to_no_one_else(running):
    child = uuid4()
    registered = envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, SETTING, time=recent(50))
    raised = envelope(sample(r.ConcernRaised), child, SETTING, time=recent(40))
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN,),
                                     valid_from=recent(60)), child, SETTING, time=recent(30))
    slt_joined = joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(25))
    report = envelope(sample(r.SLTReportShared), child, SLT, time=recent(20))
    advice = envelope(sample(r.EPAdviceShared), child, EP, time=recent(10))
    await running.publish(registered, raised, grant, slt_joined, report, advice)
    await running.until_processed(6)

    consent_basis = f"consent:{grant.data.consent_id}"
    newest_first = [advice, report, slt_joined, grant, raised, registered]
    assert entries_of(await running.timeline_of(PARENT, child, children=[child])) == [
        (str(e.id), "parent") for e in newest_first]
    assert entries_of(await running.timeline_of(SLT, child)) == [
        (str(report.id), "own"), (str(raised.id), consent_basis)]
    assert entries_of(await running.timeline_of(SETTING, child)) == [
        (str(slt_joined.id), "own"), (str(grant.id), "own"), (str(raised.id), "own"), (str(registered.id), "own")]
    assert entries_of(await running.timeline_of(HV, child)) == []
    assert entries_of(await running.timeline_of(PARENT, child, children=[uuid4()])) == []

    body = (await running.timeline_of(SLT, child)).json()
    (shown_report, shown_concern) = body["entries"]
    assert shown_report["summary"].startswith("Speech and language therapy report shared")
    assert shown_report["author"] == {"practitioner_id": "sam", "organisation_id": SLT.organisation_id,
                                      "organisation_name": "North Speech and Language Therapy",
                                      "agency": "slt_service", "role": "slt"}
    assert shown_concern["data"]["summary"] == raised.data.summary
    assert set(body) == {"child_id", "entries", "next_before"}, "no count or hint of hidden entries"


async def test_after_a_withdrawal_is_processed_the_next_read_no_longer_shows_what_it_covered(running):
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), valid_from=recent(60)), child, time=recent(30))
    on_team = joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(25))
    raised = envelope(sample(r.ConcernRaised), child, SETTING, time=recent(20))
    own = envelope(sample(r.SLTReportShared), child, SLT, time=recent(10))
    await running.publish(grant, on_team, raised, own)
    await running.until_processed(4)
    assert entries_of(await running.timeline_of(SLT, child)) == [
        (str(own.id), "own"), (str(raised.id), f"consent:{grant.data.consent_id}")]

    await running.publish(withdrawn(child, grant.data.consent_id, time=recent()))
    await running.until_processed(5)
    assert entries_of(await running.timeline_of(SLT, child)) == [(str(own.id), "own")]


async def test_a_duplicated_or_replayed_event_gives_one_entry(running):
    child = uuid4()
    event = concern(child, SETTING, time=recent(1))
    await running.publish(event, event)
    await running.publish_raw(running.topics.referrals, event.to_json_bytes(), key=event.key)
    marker = concern(child, SETTING, time=recent())
    await running.publish(marker)
    await running.until_processed(2)
    await running.until(lambda: running.timeline.ingestor.stats.duplicates >= 2, what="both duplicates consumed")
    assert entries_of(await running.timeline_of(SETTING, child)) == [(str(marker.id), "own"), (str(event.id), "own")]
    assert running.timeline.store.count_entries(child) == 2


async def test_a_poison_message_goes_to_the_dead_letter_topic_with_its_reason_and_the_next_event_still_lands(running):
    child = uuid4()
    key = str(child).encode()
    await running.publish_raw(running.topics.referrals, b'{"type": "tac.referrals.concern_raised.v1", "id": 1}', key)
    await running.publish_raw(running.topics.consent, b"\xff\xfe not json", key)
    after = concern(child, SETTING, time=recent())
    await running.publish(after)
    await running.until_processed(1)
    assert entries_of(await running.timeline_of(SETTING, child)) == [(str(after.id), "own")]

    parked = await read_topic(running.settings.kafka_bootstrap_servers, running.topics.deadletter, expected=2)
    records = sorted((json.loads(m.value) for m in parked), key=lambda rec: rec["source_topic"])
    assert [rec["source_topic"] for rec in records] == sorted([running.topics.referrals, running.topics.consent])
    by_topic = {rec["source_topic"]: rec for rec in records}
    schema_breach = by_topic[running.topics.referrals]
    assert schema_breach["reason"].startswith("event violates its schema") and "id:" in schema_breach["reason"]
    assert base64.b64decode(schema_breach["original_b64"]).startswith(b'{"type": "tac.referrals.concern_raised.v1"')
    assert schema_breach["key"] == str(child) and schema_breach["consumer"] == running.settings.consumer_group
    assert by_topic[running.topics.consent]["reason"].startswith("malformed JSON")
    assert running.timeline.ingestor.stats.dead_lettered == 2


async def test_every_read_is_published_as_timeline_viewed_and_kept_in_the_access_log_for_parent_and_setting(running):
    child = uuid4()
    registered = envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, SETTING, time=recent(5))
    report = envelope(sample(r.SLTReportShared), child, SLT, time=recent(1))
    await running.publish(registered, report)
    await running.until_processed(2)

    await running.timeline_of(SLT, child)
    await running.timeline_of(HV, child)
    await running.timeline_of(PARENT, child, children=[child])

    published = await read_topic(running.settings.kafka_bootstrap_servers, running.topics.audit, expected=3)
    viewed = sorted((parse_event(m.value) for m in published), key=lambda e: e.time)
    assert [(e.actor.organisation_id, e.data.entries_shown) for e in viewed] == [
        (SLT.organisation_id, 1), (HV.organisation_id, 0), (None, 2)]
    assert [(s.event_id, s.basis) for s in viewed[0].data.shown] == [(report.id, "own")]
    assert all(m.key == str(child).encode() for m in published)

    for reader, children in ((PARENT, [child]), (SETTING, [])):
        log = await running.access_log_of(reader, child, children=children)
        assert log.status_code == 200, log.text
        views = log.json()["views"]
        assert [(v["viewer"]["organisation_id"], v["entries_shown"], v["bases"]) for v in views[-3:]] == [
            (None, 2, {"parent": 2}), (HV.organisation_id, 0, {}), (SLT.organisation_id, 1, {"own": 1})]
        assert {v["view_id"] for v in views[-3:]} == {str(e.id) for e in viewed}


async def test_only_the_parent_and_the_setting_may_read_the_access_log_and_others_get_403(running):
    child, unknown = uuid4(), uuid4()
    await running.publish(envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, SETTING))
    await running.until_processed(1)
    assert (await running.access_log_of(SLT, child)).status_code == 403
    assert (await running.access_log_of(PARENT, child, children=[uuid4()])).status_code == 403
    assert (await running.access_log_of(SETTING, unknown)).status_code == 403
    assert (await running.access_log_of(SETTING, child)).status_code == 200


async def test_bad_requests_get_a_4xx_naming_the_field_and_an_unknown_child_an_empty_timeline(running):
    child = uuid4()
    assert entries_of(await running.timeline_of(SETTING, child)) == []
    bad_cursor = await running.timeline_of(SETTING, child, before="not-a-cursor")
    assert bad_cursor.status_code == 422 and bad_cursor.json()["field"] == "before"
    too_many = await running.timeline_of(SETTING, child, limit=1001)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["loc"] == ["query", "limit"]
    not_a_child = await running.client.get(
        "/children/nobody/timeline", headers={"Authorization": f"Bearer {token_for(running.settings, SETTING)}"})
    assert not_a_child.status_code == 422 and not_a_child.json()["errors"][0]["loc"] == ["path", "child_id"]
    assert (await running.client.get(f"/children/{child}/timeline")).status_code == 401


async def test_pages_walk_back_through_the_timeline_with_the_next_before_cursor(running):
    child = uuid4()
    events = [concern(child, SETTING, time=recent(i)) for i in range(7)]
    await running.publish(*events)
    await running.until_processed(7)
    seen, before = [], None
    while True:
        params = {"limit": 3} | ({"before": before} if before else {})
        body = (await running.timeline_of(SETTING, child, **params)).json()
        seen += [e["event_id"] for e in body["entries"]]
        before = body["next_before"]
        if before is None:
            break
    assert seen == [str(e.id) for e in events]


# -- the team around the child (DESIGN §3, issue 10) -----------------------------------------

AREA_SENCO_ORG = "westshire-inclusion"
AREA_SENCO = Actor(practitioner_id="kit-ward", organisation_id=AREA_SENCO_ORG, agency=Agency.AREA_SENCO,
                   role="area_senco")


async def test_an_agency_kind_consent_reaches_an_organisation_of_that_kind_only_once_it_joins_the_team(running):
    child = uuid4()
    registered = envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, SETTING, time=recent(50))
    grant = envelope(granted_payload(agencies=(Agency.AREA_SENCO,), categories=(Category.CONCERN,),
                                     valid_from=recent(60)), child, SETTING, time=recent(45))
    raised = envelope(sample(r.ConcernRaised), child, SETTING, time=recent(40))
    await running.publish(registered, grant, raised)
    await running.until_processed(3)
    assert entries_of(await running.timeline_of(AREA_SENCO, child)) == []

    # Invited: still not on the team, so still nothing.
    invited = envelope(r.InvitationSent(invitation_id=uuid4(), organisation_id=AREA_SENCO_ORG, agency=Agency.AREA_SENCO,
                                        expires_on=(recent() + timedelta(days=14)).date()), child, SETTING,
                       time=recent(30))
    await running.publish(invited)
    await running.until_processed(4)
    assert entries_of(await running.timeline_of(AREA_SENCO, child)) == []

    accepted = joined(child, AREA_SENCO_ORG, Agency.AREA_SENCO, time=recent(20), through=TeamJoinRoute.INVITATION)
    await running.publish(accepted)
    await running.until_processed(5)
    assert entries_of(await running.timeline_of(AREA_SENCO, child)) == [
        (str(raised.id), f"consent:{grant.data.consent_id}")]


async def test_after_removal_from_the_team_the_next_read_shows_only_the_organisations_own_records(running):
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN, Category.SLT),
                                     valid_from=recent(60)), child, SETTING, time=recent(50))
    on_team = joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(45))
    raised = envelope(sample(r.ConcernRaised), child, SETTING, time=recent(40))
    report = envelope(sample(r.SLTReportShared), child, SLT, time=recent(30))
    await running.publish(grant, on_team, raised, report)
    await running.until_processed(4)
    assert entries_of(await running.timeline_of(SLT, child)) == [
        (str(report.id), "own"), (str(raised.id), f"consent:{grant.data.consent_id}")]

    removed = left(child, SLT_ORG, time=recent(1), ended_by=TeamLeaveRoute.REMOVED_BY_PARENT)
    await running.publish(removed)
    await running.until_processed(5)
    assert entries_of(await running.timeline_of(SLT, child)) == [(str(report.id), "own")]
    # The parent sees the removal on the timeline, with who removed the organisation.
    shown = (await running.timeline_of(PARENT, child, children=[child])).json()["entries"]
    assert shown[0]["event_id"] == str(removed.id)
    assert shown[0]["summary"].startswith(f"{SLT_ORG} was removed from the team by the parent")


async def test_the_acceptance_of_a_referral_is_visible_to_the_referrer_as_own_request_with_no_consent(running):
    child = uuid4()
    registered = envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, SETTING, time=recent(50))
    accepted = envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING_ORG), child, SLT,
                        time=recent(10))
    await running.publish(registered, accepted)
    await running.until_processed(2)
    assert entries_of(await running.timeline_of(SETTING, child)) == [
        (str(accepted.id), "own_request"), (str(registered.id), "own")]
    # Another setting, even one a consent could name, gets nothing: the answer is not its request.
    other_setting = Actor(practitioner_id="hannah", organisation_id="another-nursery", agency=Agency.SETTING,
                          role="senco")
    assert entries_of(await running.timeline_of(other_setting, child)) == []
    viewed = await read_topic(running.settings.kafka_bootstrap_servers, running.topics.audit, expected=2)
    bases = [[(s.event_id, s.basis) for s in parse_event(m.value).data.shown] for m in viewed]
    assert [(accepted.id, "own_request"), (registered.id, "own")] in bases


async def test_invitations_and_the_key_person_are_referral_entries_like_the_others(running):
    child = uuid4()
    events = [envelope(sample(cls), child, SETTING, time=recent(10 - i))
              for i, cls in enumerate((r.InvitationSent, r.InvitationDeclined, r.KeyPersonNamed))]
    await running.publish(*events)
    await running.until_processed(3)
    body = (await running.timeline_of(PARENT, child, children=[child])).json()
    assert [(e["type"], e["category"]) for e in body["entries"]] == [
        (e.type, "referral") for e in reversed(events)]
