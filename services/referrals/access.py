"""What this service shows to whom: the consent decision (services.consent.decision, DESIGN §3)
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

Reads of a request by the organisation it is addressed to, before it has answered (a referral
waiting for the receiver): `may_see_request` — the consent that let the request name it.

Writes. A command that NAMES another organisation as the one to receive, run or contribute to
a piece of work (a referral's receiver, an integrated review's partner, the local authority of
an EHC request, the organisation asked for EHC advice) discloses the child to it, so at that
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
from services.consent.decision import ConsentState, Decision, Entry, Viewer, decide

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
             now: datetime, state: ConsentState) -> Decision:
    return decide(viewer, Entry(event_id=_ANY_ENTRY, child_id=child_id, author_organisation_id=author_organisation_id,
                                category=str(category)), now, state)


def may_see(viewer: Viewer, child_id: UUID, author_organisation_id: str | None, category: Category | str,
            now: datetime, state: ConsentState) -> bool:
    return decision(viewer, child_id, author_organisation_id, category, now, state).permitted


def consent_covering(viewer: Viewer, child_id: UUID, category: Category | str, now: datetime,
                     state: ConsentState) -> UUID | None:
    """The id of the active consent that lets the named organisation see `category` about the
    child now, or None. Only a consent counts: not authorship, not a safeguarding grant."""
    # The organisation named is usually not on the team yet (the request is what brings it in),
    # and a safeguarding grant is not a basis for sharing onwards: ask about consents alone.
    return state.covering_consent(viewer, Entry(event_id=_ANY_ENTRY, child_id=child_id, author_organisation_id=None,
                                                category=str(category)), now)


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
