"""Loading a child for a caller who may know of it, and putting an organisation on the child's
team (TeamMemberJoined) in the caller's transaction: the two steps of the team rules
(domain.team) that need the store."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from schemas.events import referrals as ev
from schemas.vocabulary import TeamJoinRoute
from services.common.directory import Organisation
from services.common.errors import NotFound
from services.referrals.domain.rules import ChildRecord
from services.referrals.domain.team import is_member, knows_child, no_child
from services.referrals.service_layer.unit_of_work import UnitOfWork


def known_child(store, caller, child_id: UUID, now: datetime, *, missing: NotFound | None = None,
                addressees: Collection[str] = ()) -> ChildRecord:
    """The child, or `missing` (404, as for an unknown id) when the caller may not know of it."""
    child = store.get_child(child_id)
    if child is None or not knows_child(caller, child, store.consent_state_for(child_id), now, addressees):
        raise missing or no_child(child_id)
    return child


def join(uow: UnitOfWork, actor, child: ChildRecord, organisation: Organisation, *, role: str, through: TeamJoinRoute,
         request_id: UUID | None = None, invitation_id: UUID | None = None,
         invited_by: str | None = None) -> UUID | None:
    """Put the organisation on the child's team (TeamMemberJoined), in the caller's transaction;
    None, and no second event, when it is on the team already."""
    if is_member(uow.store.consent_state_for(child.child_id), child, organisation.id, uow.now):
        return None
    uow.store.join_team(child_id=child.child_id, organisation_id=organisation.id,
                        agency=organisation.agency.value, role=role, now=uow.now, joined_through=str(through),
                        invited_by_organisation_id=invited_by)
    return uow.emit(actor, child.child_id, ev.TeamMemberJoined(
        organisation_id=organisation.id, agency=organisation.agency, role=role, joined_through=through,
        invitation_id=invitation_id, request_id=request_id))
