"""The timeline as a tolerant reader that fails closed, on the real broker (issues 14 and 16),
with the store on SQLite and on PostgreSQL:

* a rolling upgrade: an event carrying a field this build does not know and an event of a type
  it does not know are read, not dead-lettered; the unknown type is an entry shown only to
  those its category permits;
* a message on the consent topic that can never parse, keyed by a child: it is dead-lettered
  and that child's consent-based access fails closed (the parent and the author still see
  everything of theirs, others only their own) with the holds metric raised, until
  `tac holds release` restores it.
"""

from __future__ import annotations

import json
from uuid import uuid4

from prometheus_client import REGISTRY

from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category
from services.common.cli import main as tac
from tests.integration.timeline.conftest import read_topic
from tests.integration.timeline.test_timeline_service import entries_of, recent
from tests.unit.timeline.timeline_builders import (
    HV, PARENT, SETTING, SLT, SLT_ORG, concern, envelope, granted_payload, joined, sample,
)

NEW_TYPE = "tac.referrals.speech_screening_done.v1"


def _as_new_type(event, new_type: str, *, category: str | None = None, extra: dict | None = None) -> bytes:
    body = json.loads(event.to_json_bytes())
    body["type"] = new_type
    body["dataschema"] = f"urn:tac:jsonschema:{new_type}"
    if category is not None:
        body["category"] = category
    body["data"] = {"screening_id": str(uuid4()), "outcome": "refer on", **(extra or {})}
    return json.dumps(body).encode()


def _holds_placed(why: str) -> float:
    return REGISTRY.get_sample_value("tac_consent_holds_placed_total", {"service": "timeline", "why": why}) or 0.0


async def test_a_new_field_and_a_new_type_are_read_and_the_new_type_is_shown_only_as_its_category_permits(running):
    child = uuid4()
    key = str(child).encode()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN,),
                                     valid_from=recent(60)), child, SETTING, time=recent(50))
    on_team = joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(45))
    await running.publish(grant, on_team)
    # A newer producer: a known type with an extra optional field, and two types this build lacks,
    # one filed under a category the SLT service's consent covers, one under a category no parent
    # can consent to (shown to nobody, the parent included: deny is the default).
    newer = json.loads(concern(child, SETTING, time=recent(40)).to_json_bytes())
    newer["data"]["urgency"] = "high"
    screened = concern(child, SETTING, time=recent(30))
    unknown_category = concern(child, SETTING, time=recent(20))
    await running.publish_raw(running.topics.referrals, json.dumps(newer).encode(), key)
    await running.publish_raw(running.topics.referrals, _as_new_type(screened, NEW_TYPE, category="concern"), key)
    await running.publish_raw(running.topics.referrals, _as_new_type(unknown_category, NEW_TYPE, category="speech"), key)
    await running.until_processed(5)

    assert running.timeline.ingestor.stats.dead_lettered == 0
    assert await read_topic(running.settings.kafka_bootstrap_servers, running.topics.deadletter, expected=0,
                            timeout_s=1) == []
    consent_basis = f"consent:{grant.data.consent_id}"
    newest_first = [(str(screened.id), consent_basis), (newer["id"], consent_basis)]
    assert entries_of(await running.timeline_of(SLT, child)) == newest_first
    assert entries_of(await running.timeline_of(HV, child)) == []  # no consent names it
    parent_view = await running.timeline_of(PARENT, child, children=[child])
    assert str(unknown_category.id) not in [e for e, _ in entries_of(parent_view)]
    [shown] = [e for e in parent_view.json()["entries"] if e["event_id"] == str(screened.id)]
    assert shown["type"] == NEW_TYPE and shown["category"] == "concern" and shown["data"] == {}
    assert NEW_TYPE in shown["summary"] and shown["author"]["organisation_id"] == SETTING.organisation_id
    assert running.timeline.store.open_holds() == []  # a new type on the referrals topic holds nothing


async def test_an_unparseable_consent_message_fails_that_childs_consent_based_access_closed_until_released(
        running, database_url, capsys):
    child, other = uuid4(), uuid4()
    key = str(child).encode()
    events = []
    for who in (child, other):
        grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN,),
                                         valid_from=recent(60)), who, SETTING, time=recent(50))
        events += [grant, joined(who, SLT_ORG, Agency.SLT_SERVICE, time=recent(45)),
                   concern(who, SETTING, time=recent(40)), envelope(sample(r.SLTReportShared), who, SLT, time=recent(30))]
    await running.publish(*events)
    await running.until_processed(len(events))
    grant, _, raised, report = events[:4]
    before = _holds_placed("malformed")
    assert entries_of(await running.timeline_of(SLT, child)) == [
        (str(report.id), "own"), (str(raised.id), f"consent:{grant.data.consent_id}")]

    await running.publish_raw(running.topics.consent, b'{"type": "tac.consent.consent_withdrawn.v1", "id": ', key)
    await running.until(lambda: running.timeline.ingestor.stats.dead_lettered == 1, what="the message parked")

    # Fails closed for that child: others see only their own; the author and the parent everything.
    assert entries_of(await running.timeline_of(SLT, child)) == [(str(report.id), "own")]
    assert [e for e, _ in entries_of(await running.timeline_of(SETTING, child))] == [
        str(e.id) for e in (raised, events[1], grant)]
    assert len(entries_of(await running.timeline_of(PARENT, child, children=[child]))) == 4
    # ... and only for that child.
    assert [basis for _, basis in entries_of(await running.timeline_of(SLT, other))] == [
        "own", f"consent:{events[4].data.consent_id}"]
    assert _holds_placed("malformed") == before + 1
    parked = await read_topic(running.settings.kafka_bootstrap_servers, running.topics.deadletter, expected=1)
    [record] = [json.loads(m.value) for m in parked]
    assert record["source_topic"] == running.topics.consent and record["reason"].startswith("malformed JSON")
    [hold] = running.timeline.store.open_holds()
    assert (hold["child_id"], hold["why"], hold["topic"]) == (str(child), "malformed", running.topics.consent)

    assert tac(["holds", "list", "--database-url", database_url]) == 0
    assert str(child) in capsys.readouterr().out
    assert tac(["holds", "release", "--database-url", database_url, "--child", str(child), "--by", "Ada (DPO)"]) == 0
    assert entries_of(await running.timeline_of(SLT, child)) == [
        (str(report.id), "own"), (str(raised.id), f"consent:{grant.data.consent_id}")]
    assert running.timeline.store.open_holds() == []
    # Released, not forgotten: a second release finds nothing open.
    assert tac(["holds", "release", "--database-url", database_url, "--child", str(child), "--by", "Ada (DPO)"]) == 1
