"""Who may do what in the referrals service. Pure: callers and records in, a refusal out.

The caller is anything with `practitioner_id`, `organisation_id` (None for a parent),
`agency` and `children` (the child ids a parent token speaks for) — in practice
`services.common.auth.Principal`. A practitioner acts for exactly one organisation at a time
(DESIGN §1), so every rule below is about the caller's ORGANISATION, never the person.

Before any of these rules, the caller must know the child (services.referrals.domain.team): the
child's setting, a team member, a parent of the child, or the addressee of a request still
waiting for its answer. Anyone else gets the 404 of an unknown id. The rules below then
refuse a member what its organisation may not do (403: it knows the child exists).

Rules (403 otherwise):

| command | who |
|---|---|
| register a child | a practitioner of agency `setting`, for their own organisation |
| raise a concern, make a referral, plan / complete transition | practitioners of the child's setting (transition completion also the receiving school) |
| accept / decline a referral | the organisation it was made to (and of the agency it was made to) |
| withdraw a referral | the referrer's organisation |
| close a referral | the receiving organisation |
| add an organisation to the team | a parent of the child (TeamMemberJoined, joined_through=parent) |
| invite an organisation to the team | the child's setting or a team member (a practitioner) |
| accept / decline an invitation | the organisation invited (and of the agency invited) |
| remove an organisation from the team | a parent of the child, or the child's setting (never the setting itself) |
| leave the team | the organisation itself (never the child's setting) |
| name the key person | the child's setting |
| share an SLT report | an `slt_service` organisation that is involved with the child* |
| share EP advice | an `ep_service` organisation that is involved with the child* |
| schedule / complete an integrated review | a `health_visiting` organisation or the child's setting; completion also the organisation it was scheduled with |
| request an EHC needs assessment | the child's setting (on the parent's behalf), or a parent token for that child |
| start / decline an assessment, request advice, issue the draft, finalise the plan | the `la_sen_team` organisation the request was made to |
| submit EHC advice | the organisation asked |
| offer family support | a `childrens_centre` organisation |
| share "what we see at home", give the parent's views on an EHC request | a parent of the child (a parent token for that child) |
| read a child's details (name, date of birth, key person) | services.referrals.domain.access.may_see_details: the setting, a parent, an organisation the decision lets see the setting's `referral` entries, the addressee of a referral waiting for its answer under consent |
| read a referral | the referring organisation, or the receiving organisation as the agency it was referred to as |

* "involved": on the child's team now, in the decision's state (accepting a referral puts the
  receiver on the team; one removed since, or gone, is not involved). Reports are only shared by those working with the
  child. Any health visiting service may ASK to schedule a review, because health visitors work
  by area, which this service does not know; the handler then requires the family's consent
  to share `health` with it (services.referrals.domain.access).

Team membership is the legitimate relationship, never self-asserted (DESIGN §3): an
organisation joins when a request addressed to it is made or answered, when it accepts an
invitation, or when a parent adds it (services/referrals/README.md). Membership lets it write
and lets consent reach it; what it then reads is still decided by consent at read time
(services.referrals.domain.access), and a write that names another organisation needs a consent
covering it.

A parent token (agency `parent`) acts only for the children in its `children` claim: it may
ask for an EHC needs assessment (Children and Families Act 2014 s.36(1)), add an organisation to
the team or remove one, and add the parent's own entries — "what we see at home" and, while an
EHC request is open, the parent's and the child's views (SEND Regulations 2014 reg. 6(1)(a), 7).
A practitioner never writes those as a parent. Anything a practitioner's organisation did not author is shown to other
organisations only under consent: services.referrals.domain.access decides that, at read time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from schemas.vocabulary import Agency


class Caller(Protocol):
    practitioner_id: str
    organisation_id: str | None
    agency: str
    children: frozenset[UUID]


class NotPermitted(Exception):
    """The caller may not do this (HTTP 403)."""


@dataclass(frozen=True)
class ChildRecord:
    child_id: UUID
    setting_organisation_id: str
    date_of_birth: date


@dataclass(frozen=True)
class ReferralRecord:
    referral_id: UUID
    child_id: UUID
    from_organisation_id: str
    to_organisation_id: str
    to_agency: str
    state: str


def is_parent_of(caller: Caller, child_id: UUID) -> bool:
    return str(caller.agency) == Agency.PARENT and child_id in caller.children


def _is_practitioner_of(caller: Caller, organisation_id: str) -> bool:
    return str(caller.agency) != Agency.PARENT and caller.organisation_id is not None and caller.organisation_id == organisation_id


def _deny(message: str) -> None:
    raise NotPermitted(message)


def _parent_or_setting(caller: Caller, child: ChildRecord, as_parent: str, as_setting: str, refusal: str) -> str:
    """`as_parent` to a parent of the child, `as_setting` to the child's setting; `refusal` to
    anyone else."""
    if is_parent_of(caller, child.child_id):
        return as_parent
    if _is_practitioner_of(caller, child.setting_organisation_id):
        return as_setting
    _deny(refusal)
    raise AssertionError("unreachable")


def require_may_register(caller: Caller, setting_organisation_id: str) -> None:
    if str(caller.agency) != Agency.SETTING:
        _deny("only a practitioner of an early years setting registers a child")
    if caller.organisation_id != setting_organisation_id:
        _deny("a setting registers children for its own organisation only")


def require_setting(caller: Caller, child: ChildRecord, doing: str) -> None:
    if not _is_practitioner_of(caller, child.setting_organisation_id):
        _deny(f"only the child's setting may {doing}")


def require_may_read_child(caller: Caller, child: ChildRecord) -> None:
    if not (is_parent_of(caller, child.child_id) or _is_practitioner_of(caller, child.setting_organisation_id)):
        _deny("only the child's setting or a parent may read the child's details")


def require_receiver(caller: Caller, referral: ReferralRecord, doing: str) -> None:
    if not _is_practitioner_of(caller, referral.to_organisation_id) or str(caller.agency) != str(referral.to_agency):
        _deny(f"only the organisation the referral was made to may {doing} it")


def require_referrer(caller: Caller, referral: ReferralRecord) -> None:
    if not _is_practitioner_of(caller, referral.from_organisation_id):
        _deny("only the referring organisation may withdraw the referral")


def require_may_read_referral(caller: Caller, referral: ReferralRecord) -> None:
    if not (
        _is_practitioner_of(caller, referral.from_organisation_id)
        or (_is_practitioner_of(caller, referral.to_organisation_id) and str(caller.agency) == str(referral.to_agency))
    ):
        _deny("only the referring or the receiving organisation may read the referral")


def require_parent_of(caller: Caller, child: ChildRecord, doing: str) -> None:
    if not is_parent_of(caller, child.child_id):
        _deny(f"only a parent of the child may {doing}")


def require_remover(caller: Caller, child: ChildRecord) -> str:
    """Returns how the member is removed, for TeamMemberLeft.ended_by."""
    return _parent_or_setting(caller, child, "removed_by_parent", "removed_by_setting",
                              "only a parent of the child or the child's setting may remove an organisation from the team")


def require_leaver(caller: Caller, organisation_id: str) -> None:
    if not _is_practitioner_of(caller, organisation_id):
        _deny("only the organisation itself may leave the team; a parent or the setting removes it")


def require_invitee(caller: Caller, organisation_id: str, agency: str) -> None:
    if not _is_practitioner_of(caller, organisation_id) or str(caller.agency) != str(agency):
        _deny("only the organisation invited may answer the invitation")


def require_involved_agency(caller: Caller, agency: Agency, involved: Collection[str], doing: str) -> None:
    if str(caller.agency) != agency:
        _deny(f"only a {agency} organisation may {doing}")
    if caller.organisation_id not in involved:
        _deny(f"only an organisation in the team around the child may {doing}")


def require_review_scheduler(caller: Caller, child: ChildRecord) -> None:
    if not (str(caller.agency) == Agency.HEALTH_VISITING and caller.organisation_id) and not _is_practitioner_of(
        caller, child.setting_organisation_id
    ):
        _deny("only a health visiting service or the child's setting may schedule an integrated review")


def require_review_completer(caller: Caller, child: ChildRecord, scheduled_by: str, scheduled_with: str | None) -> None:
    allowed = {child.setting_organisation_id, scheduled_by} | ({scheduled_with} if scheduled_with else set())
    if not any(_is_practitioner_of(caller, org) for org in allowed):
        _deny("only the child's setting or the organisations the review was scheduled by or with may complete it")


def require_ehc_requester(caller: Caller, child: ChildRecord) -> str:
    """Returns who requested, for EHCAssessmentRequested.requested_by."""
    return _parent_or_setting(caller, child, "parent", "setting",
                              "only the child's setting or a parent of the child may request an EHC needs assessment")


def require_la(caller: Caller, la_organisation_id: str, doing: str) -> None:
    if str(caller.agency) != Agency.LA_SEN_TEAM or caller.organisation_id != la_organisation_id:
        _deny(f"only the local authority SEN team the request was made to may {doing}")


def require_asked(caller: Caller, from_organisation_id: str) -> None:
    if not _is_practitioner_of(caller, from_organisation_id):
        _deny("only the organisation asked for advice may submit it")


def require_transition_completer(caller: Caller, child: ChildRecord, school_organisation_id: str) -> None:
    if not (_is_practitioner_of(caller, child.setting_organisation_id) or _is_practitioner_of(caller, school_organisation_id)):
        _deny("only the child's setting or the receiving school may complete the transition")


def require_agency(caller: Caller, agency: Agency, doing: str) -> None:
    if str(caller.agency) != agency or not caller.organisation_id:
        _deny(f"only a {agency} organisation may {doing}")


def require_practitioner(caller: Caller, doing: str) -> None:
    if str(caller.agency) == Agency.PARENT or not caller.organisation_id:
        _deny(f"only a practitioner may {doing}")
