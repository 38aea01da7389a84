"""What this service shows to whom: the consent decision (consent_policy.decision, DESIGN §3)
applied to the referrals service's own reads and to the writes that name another organisation.
Pure: callers, records and a ConsentState in, decisions out.

Reads. Every caseload item, every row of the health visitors' review list, GET /referrals/{id}
and GET /ehc-requests/{id} run `decide()` at read time, on this service's current copy of the
consent state, for the caller (organisation and agency from the token) and an entry made of the
item's category and its author — the organisation that recorded it, so the recorder sees it as
"own" (rule 2) and everyone else needs a consent or a safeguarding grant (rules 3-4):

| item | category | author |
|---|---|---|
| referral | referral | the referring organisation |
| EHC request, EHC advice request | ehc | the requester (the setting; none for a parent) / the LA |
| integrated review | health | the organisation that scheduled it |
| a parent's views on an EHC request | ehc | none: the parent (a parent sees them, rule 1) |
| a child on the review list | health | the child's setting (the record the dates come from) |

What is not permitted is DROPPED from caseloads and lists, not redacted: an item whose child
name and free text were blanked would still tell the reader that this child has a referral,
an EHC request or a review with them and when — which is itself the information consent
protects (HM Government, Information sharing advice for practitioners, 2024: share only what
the purpose needs). Counts ("total") are counted after dropping, for the same reason. A single
read that is not permitted answers 404, exactly as for an id that does not exist, so the
answer does not confirm that the record exists (a 403 would). Withdrawal or expiry takes
effect on the next read: nothing is cached per viewer.

An item that answers someone's request carries `answers_request_of` (the decision's rule 3,
own_request), exactly as the timeline entry of the same answer does: a referral's response
(accepted, declined, closed) answers its referring organisation; the LA's decision to assess
or not answers the EHC request's requester; advice submitted answers the LA that asked for it.
So a setting sees the answers to its requests in GET /referrals/{id} and GET /ehc-requests/{id}
as its timeline shows them. (Caseload items are work addressed to the caller — requests, not
answers to the caller's requests — so none carries it.)

Reads of a request by the organisation it is addressed to, before it has answered (a referral
waiting for the receiver): `may_see_request` — the consent that let the request name it.

Personal details (name, date of birth and everything derived from it): ONE rule,
`may_see_details`, wherever they are shown (GET /children/{id}, GET /children?name=, GET
/caseload, GET /caseload/integrated-reviews). The rest of a child's team: `may_see_team`.

Writes. A command that NAMES another organisation as the one to receive, run or contribute to
a piece of work (a referral's receiver, an integrated review's partner, the local authority of
an EHC request, the organisation asked for EHC advice, the school of a transition plan — for
`transition` —, an organisation invited to the team — for `referral`) discloses the child to
it, so at that
moment an active consent must cover that organisation or its agency for the work's category
(rule 5 without the team — the request is what brings it onto the team; a safeguarding grant
is break-glass access for reading, not a basis for referring). The organisation itself is
checked against the organisation directory (`named_organisation`): unknown, or not the kind of
agency the request says, is a 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from schemas.vocabulary import Agency, Category
from services.common.directory import Directory, Organisation
from services.common.errors import Invalid
from consent_policy.decision import Decision, Entry, Viewer, decide
from consent_policy.state import ConsentState
from services.referrals.domain.rules import ChildRecord

# An entry id is part of decide()'s signature but not of its rules; items here have no single
# event id, so one fixed id stands in.
_ANY_ENTRY = UUID(int=0)


def viewer_of(caller) -> Viewer:
    """The Viewer the decision needs, from a Principal: organisation and agency from the token."""
    agency = Agency(str(caller.agency))
    if agency is Agency.PARENT:
        return Viewer(practitioner_id=caller.practitioner_id, organisation_id=None, agency=agency,
                      children=frozenset(caller.children))
    return Viewer(practitioner_id=caller.practitioner_id, organisation_id=caller.organisation_id, agency=agency)


def named(organisation_id: str, agency: Agency | str) -> Viewer:
    """The organisation a command names, as a viewer of what the command will share with it."""
    return Viewer(practitioner_id=f"named:{organisation_id}", organisation_id=organisation_id, agency=Agency(str(agency)))


def decision(viewer: Viewer, child_id: UUID, author_organisation_id: str | None, category: Category | str,
             now: datetime, state: ConsentState, *, answers_request_of: str | None = None) -> Decision:
    """The decision about an item; `answers_request_of` is the organisation whose request the
    item answers (rule 3, own_request), as the timeline entry of the same answer carries it."""
    return decide(viewer, Entry(event_id=_ANY_ENTRY, child_id=child_id, author_organisation_id=author_organisation_id,
                                category=str(category), answers_request_of=answers_request_of), now, state)


def may_see(viewer: Viewer, child_id: UUID, author_organisation_id: str | None, category: Category | str,
            now: datetime, state: ConsentState, *, answers_request_of: str | None = None) -> bool:
    return decision(viewer, child_id, author_organisation_id, category, now, state,
                    answers_request_of=answers_request_of).permitted


def may_see_team(caller, child: ChildRecord, state: ConsentState, now: datetime) -> bool:
    """May the caller see who else is on the child's team (their organisations, how they joined,
    who invited them): a parent of the child, or an organisation the decision lets see a
    `referral`-category entry the setting authored about the child — the category the team's
    own events (TeamMemberJoined, InvitationSent) are in. Anyone else sees the setting's row and
    its own only."""
    viewer = viewer_of(caller)
    if viewer.is_parent:
        return child.child_id in viewer.children
    return may_see(viewer, child.child_id, child.setting_organisation_id, Category.REFERRAL, now, state)


def invitation_visible(invitation, child: ChildRecord, state: ConsentState, now: datetime) -> bool:
    """May the organisation invited still see (and answer) an invitation to the child's team:
    while an active consent names it or its agency (the consent the invitation needed,
    services.referrals.service_layer.team). The invitation names the child; without that consent
    it is as if there were none."""
    invitee = named(invitation["organisation_id"], invitation["agency"])
    return consent_naming(invitee, child.child_id, now, state) is not None


def may_see_details(caller, child: ChildRecord, state: ConsentState, now: datetime, *,
                    awaiting_answer: bool = False) -> bool:
    """THE rule for a child's personal details — name, date of birth and everything derived
    from it (age, the child's due dates, the integrated review window), key person — wherever
    this service shows them (GET /children/{id}, GET /children?name=, GET /caseload, GET
    /caseload/integrated-reviews):

    * the child's setting (it recorded them);
    * a parent of the child;
    * an organisation the decision lets see some category of the setting's entries about the
      child (on the team under a consent naming it, or a safeguarding grant): the family agreed
      to share something about the child with it, and it cannot act on that without knowing
      whom it is about (a health visitor's integrated review, a school's transition);
    * the addressee of a referral about the child still waiting for its answer
      (`awaiting_answer`, the caller's organisation as the agency it was referred to as), while
      an active consent covers it for `referral` — the consent that let the referral name it
      (or one given since): it must know whom it is asked to see in order to answer.

    Nobody else: what is shown to them carries the child's id and no personal detail."""
    viewer = viewer_of(caller)
    if viewer.is_parent:
        return child.child_id in viewer.children
    if viewer.organisation_id == child.setting_organisation_id:
        return True
    if any(may_see(viewer, child.child_id, child.setting_organisation_id, category, now, state) for category in Category):
        return True
    return awaiting_answer and consent_covering(viewer, child.child_id, Category.REFERRAL, now, state) is not None


def consent_covering(viewer: Viewer, child_id: UUID, category: Category | str, now: datetime,
                     state: ConsentState) -> UUID | None:
    """The id of the active consent that lets the named organisation see `category` about the
    child now, or None. Only a consent counts: not authorship, not a safeguarding grant."""
    # The organisation named is usually not on the team yet (the request is what brings it in),
    # and a safeguarding grant is not a basis for sharing onwards: ask about consents alone.
    return state.covering_consent(viewer, Entry(event_id=_ANY_ENTRY, child_id=child_id, author_organisation_id=None,
                                                category=str(category)), now)


def consent_naming(viewer: Viewer, child_id: UUID, now: datetime, state: ConsentState) -> UUID | None:
    """An active consent that names the organisation or its agency for any category (lowest id),
    or None: the family has agreed to share something about the child with it."""
    found = [c for c in (consent_covering(viewer, child_id, category, now, state) for category in Category) if c]
    return min(found) if found else None


def missing_consent(organisation_id: str, agency: Agency | str, category: Category | str) -> str:
    """The 409 message of a write whose named organisation no consent covers."""
    return f"no active consent covers {organisation_id}/{Agency(str(agency)).value} for {Category(str(category)).value}"


def named_organisation(directory: Directory, organisation_id: str, agency: Agency | str | None, *, id_field: str,
                       agency_field: str | None = None) -> Organisation:
    """The organisation a request names, from the organisation directory: an id the directory
    does not hold is a 422 naming `id_field`; one of another kind of agency than the request
    says, a 422 naming `agency_field` (or `id_field` when the request names no agency field)."""
    org = directory.get(organisation_id)
    if org is None:
        raise Invalid(f"{id_field}: {organisation_id!r} is not an organisation in the directory", field=id_field)
    if agency is not None and org.agency.value != str(agency):
        field = agency_field or id_field
        raise Invalid(f"{field}: {org.name} is a {org.agency.value}, not a {Agency(str(agency)).value}", field=field)
    return org


def may_see_request(viewer: Viewer, child_id: UUID, author_organisation_id: str | None, category: Category | str,
                    now: datetime, state: ConsentState) -> bool:
    """A request addressed to the viewer's organisation and still waiting for its answer (a
    referral not yet accepted): the organisation is not on the team until it answers, so what
    lets it read the request is the consent that let the request name it (rule 5 without the
    team); once it has accepted, it is on the team and `may_see` decides as for everything else."""
    return (may_see(viewer, child_id, author_organisation_id, category, now, state)
            or consent_covering(viewer, child_id, category, now, state) is not None)
