"""The consent service's copy of the team fails closed under a hold (consent_policy.holds): a
team event on tac.referrals.v1 that could never be parsed may have been a member leaving, so
until a person releases the hold the child's team members are answered as strangers, while
the child's setting still records consent."""

from __future__ import annotations

from datetime import timezone

from consent_policy.holds import MALFORMED, Hold
from schemas.events.referrals import TeamMemberLeft
from services.consent.adapters import store
from services.consent.service_layer import handlers
from tests.integration.consent.conftest import auth, grant_body


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
