"""Who may do what with a child's consents: the caller, what this service knows of who works
with the child (its setting and team), and the checks every command and listing starts with.

A practitioner reaches a child only through the child's setting or team; to anyone else the
child does not exist (DESIGN §3). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from schemas.envelope import Actor
from schemas.vocabulary import Agency
from services.common.errors import Forbidden, NotFound


class Caller(Protocol):
    """What the rules need to know about who is asking (services.common.auth.Principal fits)."""

    practitioner_id: str
    organisation_id: str | None
    agency: Agency
    role: str
    children: frozenset[UUID]

    def as_actor(self) -> Actor: ...


@dataclass(frozen=True)
class Relationship:
    """What this service knows of who works with a child, at now: the child's setting (from
    ChildRegistered; None while the registration has not arrived) and the organisations on
    its team (folded from ChildRegistered, TeamMemberJoined and TeamMemberLeft, DESIGN §3)."""

    setting_organisation_id: str | None
    team: frozenset[str] = frozenset()

    @property
    def registered(self) -> bool:
        return self.setting_organisation_id is not None

    def works_with(self, organisation_id: str | None) -> bool:
        """The child's setting or an organisation on the child's team now."""
        return self.registered and organisation_id is not None and (
            organisation_id == self.setting_organisation_id or organisation_id in self.team)


UNKNOWN = Relationship(None)


def is_parent_of(caller: Caller, child_id: UUID) -> bool:
    return caller.agency is Agency.PARENT and child_id in caller.children


def is_setting_of(caller: Caller, child: Relationship) -> bool:
    return (caller.agency is not Agency.PARENT and child.registered
            and caller.organisation_id == child.setting_organisation_id)


def works_with(caller: Caller, child: Relationship) -> bool:
    """A practitioner of the child's setting or of an organisation on the child's team now."""
    return caller.agency is not Agency.PARENT and child.works_with(caller.organisation_id)


def unknown_child(child_id: UUID) -> NotFound:
    """The one answer for a child this service does not know *and* for a child the caller has
    no relationship with (DESIGN §3: to anyone else the child does not exist), so no route
    confirms that an id is a child's."""
    return NotFound(f"child {child_id} is not registered with TAC (or its registration has not arrived yet)")


def require_knows_child(caller: Caller, child_id: UUID, child: Relationship) -> None:
    """A practitioner reaches a child only through the child's setting or team: anyone else
    gets what an unknown id gets. (A parent's token names their children: checked apart.)"""
    if caller.agency is Agency.PARENT:
        return
    if not works_with(caller, child):
        raise unknown_child(child_id)


def require_parent_or_setting_on_behalf(caller: Caller, child_id: UUID, child: Relationship, doing: str) -> None:
    """Who may give or withdraw a parent's consent: the parent (a parent's token acts for their
    own children only), or a practitioner of the child's *setting* recording it on the
    parent's behalf (DESIGN §3) — the setting holds the relationship with the family. A team
    member is not the family's voice: were it able to record "the parent's consent" naming
    itself, it could open the child's record to itself, or withdraw what the family gave.

    A practitioner whose organisation neither is the child's setting nor on its team gets what
    an unknown id gets (404); a team member is told, in words, who may (403). Team membership
    decides only between those two refusals: a write needs the setting, which is compared with
    the child's registration alone, so a stale copy of the team (a removal not yet consumed)
    can never let a practitioner who is not the setting write."""
    _require_parent_or_setting(
        caller, child_id, child, doing,
        not_setting=f"only the child's parent, or a practitioner of the child's setting on the parent's behalf, "
                    f"may {doing}: ask the family or the child's setting, which holds the relationship with the family")


def require_parent_or_setting(caller: Caller, child_id: UUID, child: Relationship, doing: str) -> None:
    """Only the child's parent or a practitioner of the child's setting may read a child's
    consents (they carry the giver's name); a team member is told so; anyone else gets what an
    unknown id gets."""
    _require_parent_or_setting(caller, child_id, child, doing,
                               not_setting=f"only the child's setting or the child's parent may {doing}")


def _require_parent_or_setting(caller: Caller, child_id: UUID, child: Relationship, doing: str, *,
                               not_setting: str) -> None:
    if caller.agency is Agency.PARENT:
        if is_parent_of(caller, child_id):
            return
        raise Forbidden(f"a parent may {doing} only for a child they hold parental responsibility for")
    require_knows_child(caller, child_id, child)
    if not is_setting_of(caller, child):
        raise Forbidden(not_setting)
