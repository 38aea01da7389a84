"""Break-glass safeguarding access: an organisation's designated safeguarding lead opens a
child's whole timeline to their organisation, without consent, for at most 72 hours, with a
written reason; who may list such grants and who may read the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from schemas.envelope import Actor
from schemas.events.consent import SafeguardingAccessGranted
from schemas.vocabulary import DSL_ROLE, Agency
from services.common.errors import Forbidden, Invalid
from services.consent.domain.access import Caller, Relationship, is_setting_of, require_knows_child

# Break-glass access is time-limited (HM Government, Information sharing advice for
# safeguarding practitioners, 2024); TAC allows at most 72 hours.
MAX_SAFEGUARDING = timedelta(hours=72)
MIN_JUSTIFICATION = 20
DESIGNATED_SAFEGUARDING_LEAD = DSL_ROLE


@dataclass(frozen=True)
class SafeguardingAccess:
    grant_id: UUID
    child_id: UUID
    organisation_id: str
    granted_by: Actor
    justification: str
    granted_at: datetime
    expires_at: datetime
    notify_role: str = DESIGNATED_SAFEGUARDING_LEAD

    def is_active(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at


@dataclass(frozen=True)
class GrantSafeguardingAccess:
    justification: str
    hours: float = 72


def grant_safeguarding_access(
    caller: Caller, child_id: UUID, child: Relationship, cmd: GrantSafeguardingAccess,
    *, grant_id: UUID, now: datetime,
) -> tuple[SafeguardingAccess, SafeguardingAccessGranted]:
    """An organisation's designated safeguarding lead opens the child's whole timeline to
    their own organisation, without consent, for a limited time, with a written reason (HM
    Government, Information sharing advice for safeguarding practitioners, 2024: share without
    consent where there is a risk of significant harm, and record the decision and the reason;
    Working Together to Safeguard Children 2023: the DSL takes lead responsibility). The event
    names the DSL role so the child's setting's DSL is told.

    The role is checked before the child, so a refusal says nothing about whether the child
    exists; an organisation that is neither the child's setting nor on its team then gets what
    an unknown id gets."""
    if caller.agency is Agency.PARENT or caller.organisation_id is None:
        raise Forbidden("only a practitioner can grant their organisation safeguarding access")
    if caller.role != DSL_ROLE:
        raise Forbidden("only your organisation's designated safeguarding lead may grant safeguarding access: "
                        "ask your designated safeguarding lead")
    require_knows_child(caller, child_id, child)
    justification = (cmd.justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise Invalid(f"write a justification of at least {MIN_JUSTIFICATION} characters: why sharing without "
                      "consent is needed", field="justification")
    if len(justification) > 4000:
        raise Invalid("justification must be at most 4000 characters", field="justification")
    if not 0 < cmd.hours <= MAX_SAFEGUARDING.total_seconds() / 3600:
        raise Invalid("safeguarding access lasts more than 0 and at most 72 hours", field="hours")
    expires_at = now + timedelta(hours=cmd.hours)
    access = SafeguardingAccess(
        grant_id=grant_id, child_id=child_id, organisation_id=caller.organisation_id, granted_by=caller.as_actor(),
        justification=justification, granted_at=now, expires_at=expires_at,
    )
    event = SafeguardingAccessGranted(
        grant_id=grant_id, organisation_id=caller.organisation_id, justification=justification,
        granted_at=now, expires_at=expires_at, notify_role=DESIGNATED_SAFEGUARDING_LEAD,
    )
    return access, event


class SafeguardingScope(StrEnum):
    """Whose break-glass grants for a child a practitioner is listed."""

    OWN_ORGANISATION = "own_organisation"  # the grants their organisation holds
    SETTING = "setting"  # the child's setting's DSL: every organisation's grants for the child


def require_may_list_safeguarding(caller: Caller, child_id: UUID, child: Relationship) -> SafeguardingScope:
    """An organisation of the child's setting or team reviews its own break-glass grants. The
    child's setting's designated safeguarding lead — told of every grant for a child of the
    setting — also lists the grants other organisations opened (which organisation, from when,
    until when; not why: see `may_read_justification`). Parents are not shown them here: the
    advice is to tell the family about sharing without consent *when it is safe to*, which is a
    practitioner's judgement, not an automatic listing."""
    if caller.agency is Agency.PARENT or caller.organisation_id is None:
        raise Forbidden("safeguarding access is listed to the organisations that hold it")
    require_knows_child(caller, child_id, child)
    if caller.role == DSL_ROLE and is_setting_of(caller, child):
        return SafeguardingScope.SETTING
    return SafeguardingScope.OWN_ORGANISATION


def may_read_justification(caller: Caller, access: SafeguardingAccess) -> bool:
    """The written justification of a break-glass grant may say what a child disclosed or
    concern someone at home: it is read by the granting organisation's designated safeguarding
    lead (and the audit, tac.audit.v1) only. Other practitioners of that organisation see the
    grant without it; the child's setting's DSL sees another organisation's grant without it."""
    return (caller.agency is not Agency.PARENT and caller.role == DSL_ROLE
            and caller.organisation_id is not None and caller.organisation_id == access.organisation_id)
