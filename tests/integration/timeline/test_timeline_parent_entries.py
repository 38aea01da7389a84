"""A parent's own entries on the timeline (issue 13, "two-way, not a window"): what a parent
sees at home (ParentObservationShared, `progress`) and their views for an EHC needs assessment
(EHCParentViewsGiven, `ehc`) are authored by the parent, for no organisation. The decision shows
them to the parent (rule 1) and to a team member only under a consent covering their category
(rule 5, with the consent as the basis); a team member without one sees nothing of them. Real
broker, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from schemas.events import referrals as r
from schemas.vocabulary import Agency, Category
from tests.unit.timeline.timeline_builders import (
    HV, PARENT, SETTING, SETTING_ORG, SLT, SLT_ORG, envelope, granted_payload, joined,
)

HV_ORG = HV.organisation_id


def recent(minutes: int = 0) -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=minutes)


def entries_of(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(e["event_id"], e["basis"]) for e in response.json()["entries"]]


async def test_a_parents_entries_reach_a_team_member_under_consent_for_their_category_and_no_other(running):
    child = uuid4()
    registered = envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, SETTING, time=recent(60))
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.PROGRESS,),
                                     valid_from=recent(70)), child, SETTING, time=recent(50))
    slt_on_team = joined(child, SLT_ORG, Agency.SLT_SERVICE, time=recent(45))
    hv_on_team = joined(child, HV_ORG, Agency.HEALTH_VISITING, time=recent(44))  # on the team, no consent
    seen = envelope(r.ParentObservationShared(observation_id=uuid4(), text="She says 'bir' for bird now.",
                                              seen_on=recent(30).date()), child, PARENT, time=recent(20))
    views = envelope(r.EHCParentViewsGiven(request_id=uuid4(), views_id=uuid4(), parent_views="We want her understood.",
                                           child_views="Likes the sand tray."), child, PARENT, time=recent(10))
    await running.publish(registered, grant, slt_on_team, hv_on_team, seen, views)
    await running.until_processed(6)

    # The SLT: on the team, its consent covers `progress`, not `ehc`.
    assert entries_of(await running.timeline_of(SLT, child)) == [(str(seen.id), f"consent:{grant.data.consent_id}")]
    body = (await running.timeline_of(SLT, child)).json()["entries"][0]
    assert (body["type"], body["category"]) == (r.ParentObservationShared.TYPE, "progress")
    assert body["author"]["organisation_id"] is None and body["author"]["agency"] == "parent"
    assert body["summary"] == (f"Parent shared what they see at home (seen {recent(30).date().isoformat()}): "
                               "She says 'bir' for bird now.")
    assert body["data"]["text"] == "She says 'bir' for bird now."
    # The health visitors: on the team without a consent: nothing of the parent's.
    assert entries_of(await running.timeline_of(HV, child)) == []
    # The setting: its own records only, no consent covers it for the parent's entries.
    assert entries_of(await running.timeline_of(SETTING, child)) == [
        (str(hv_on_team.id), "own"), (str(slt_on_team.id), "own"), (str(grant.id), "own"), (str(registered.id), "own")]
    # The parent sees both, as every entry about their child.
    shown = (await running.timeline_of(PARENT, child, children=[child])).json()["entries"]
    assert [(e["event_id"], e["basis"]) for e in shown[:2]] == [(str(views.id), "parent"), (str(seen.id), "parent")]
    assert shown[0]["summary"] == ("Parent gave their views for the EHC needs assessment and the child's views: "
                                   "We want her understood.")

    # A consent covering `ehc` for the SLT's agency shows it the parent's views too, on that basis.
    ehc_grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.EHC,),
                                         valid_from=recent(70)), child, SETTING, time=recent(5))
    await running.publish(ehc_grant)
    await running.until_processed(7)
    assert entries_of(await running.timeline_of(SLT, child)) == [
        (str(views.id), f"consent:{ehc_grant.data.consent_id}"), (str(seen.id), f"consent:{grant.data.consent_id}")]
    assert entries_of(await running.timeline_of(HV, child)) == []
