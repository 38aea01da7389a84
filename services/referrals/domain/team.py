"""The team around the child (DESIGN §3): the legitimate relationship. Who knows a child
exists here, and how an organisation comes onto the team.

Who knows the child. Only the child's setting, the organisations on the child's team now, and
a parent of the child (a parent token naming the child) may read or write anything about the
child. To anyone else the child does not exist: every route naming the child, or a record of
the child (a referral, an EHC request or advice request, a review, an invitation), answers
exactly what it answers for an id that does not exist — 404 with the same words — whether
the caller meant to read or to write. A 403 would confirm the record. Past that check, the
rules of services.referrals.domain.rules decide what a member may do (403: it knows the child).

The team is read from this service's copy of the decision's state (ChildRegistered puts the
setting on it, TeamMemberJoined / TeamMemberLeft), the same fold the decision reads, and
written in the transaction of the command that changes it (service_layer.unit_of_work);
the `team_members` table keeps how each member joined, for GET /children/{id}/team.

How an organisation joins (service_layer.membership): never by saying so itself
(services/referrals/README.md).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from schemas.vocabulary import Agency
from services.common.errors import NotFound
from consent_policy.state import ConsentState
from services.referrals.domain.rules import ChildRecord, is_parent_of


def no_child(child_id: UUID) -> NotFound:
    return NotFound(f"no child {child_id}")


def is_member(state: ConsentState, child: ChildRecord, organisation_id: str | None, now: datetime) -> bool:
    """On the child's team now. The child's setting always is (it cannot be removed)."""
    if not organisation_id:
        return False
    return organisation_id == child.setting_organisation_id or state.is_team_member(child.child_id, organisation_id, now)


def knows_child(caller, child: ChildRecord, state: ConsentState, now: datetime, addressees: Collection[str] = ()) -> bool:
    """May the caller learn that the child exists: a parent of the child, the setting, a team
    member, or an organisation a request still waiting for its answer is addressed to (the
    receiver of a referral not yet accepted: it must read the referral to answer it)."""
    if str(caller.agency) == Agency.PARENT:
        return is_parent_of(caller, child.child_id)
    return is_member(state, child, caller.organisation_id, now) or (caller.organisation_id in addressees)


def role_of(caller) -> str:
    """The role a joining organisation is recorded with: its practitioner's token says it."""
    return str(caller.role)
