"""The consent service's copy of the team fails closed under a hold (consent_policy.holds): a
team event on tac.referrals.v1 that could never be parsed may have been a member leaving, so
until a person releases the hold the child's team members are answered as strangers, while
the child's setting still records consent."""

from __future__ import annotations

from datetime import timezone

from consent_policy.holds import MALFORMED, Hold
from schemas.envelope import EnvelopeBase
from schemas.events.referrals import TeamMemberLeft
from schemas.vocabulary import TeamLeaveRoute
from services.consent.adapters import store
from services.consent.service_layer import handlers
from tests.integration.consent.conftest import PEOPLE, auth, grant_body, team_event


async def test_a_held_childs_team_is_answered_as_strangers_until_released_and_the_setting_still_writes(service):
    child = service.register_child()
    service.join_team(child, "slt")
    assert (await service.client.get(f"/children/{child}/consents", headers=auth("slt"))).status_code == 403

    hold = Hold(child_id=child, why=MALFORMED, reason="event violates its schema: data.organisation_id",
                held_at=service.clock().astimezone(timezone.utc), topic="tac.referrals.v1", partition=0, offset=9,
                event_type=TeamMemberLeft.TYPE)
    assert handlers.hold_children(service.deps, [hold]) == 1
    assert handlers.hold_children(service.deps, [hold]) == 0  # the same message again holds once

    assert (await service.client.get(f"/children/{child}/consents", headers=auth("slt"))).status_code == 404
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(), headers=auth("setting"))
    assert r.status_code == 201, r.text

    with service.deps.sessions.begin() as session:
        assert store.consent_copy.release(session, child, by="Ada", at=service.clock()) == 1
    assert (await service.client.get(f"/children/{child}/consents", headers=auth("slt"))).status_code == 403


async def test_a_new_version_of_a_team_event_holds_the_child_and_is_not_claimed(service):
    """`tac.referrals.team_member_left.v2` (a newer producer's leave) cannot be applied by this
    build: it holds the child (once, however often it arrives), and is not claimed, so the
    upgraded build applies it when it reads it again."""
    child = service.register_child()
    service.join_team(child, "slt")
    _, org, _, _ = PEOPLE["slt"]
    leave = team_event(child, TeamMemberLeft(organisation_id=org, ended_by=TeamLeaveRoute.LEFT), service.clock())
    newer = EnvelopeBase.model_validate_json(leave.to_json_bytes()).model_copy(
        update={"type": "tac.referrals.team_member_left.v2"})
    assert not handlers.record_referrals_event(service.deps, newer)
    assert not handlers.record_referrals_event(service.deps, newer)  # redelivered: held once
    with service.deps.sessions() as session:
        holds = store.consent_copy.open_holds(session)
    assert [(h["child_id"], h["why"], h["event_id"]) for h in holds] == [(str(child), "unknown_type", str(leave.id))]
    assert (await service.client.get(f"/children/{child}/consents", headers=auth("slt"))).status_code == 404
    assert handlers.record_referrals_event(service.deps, leave)  # upgraded: the same event id applies
