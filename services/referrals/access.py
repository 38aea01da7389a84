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
| a child on the review list | health | the child's setting (the record the dates come from) |

What is not permitted is DROPPED from caseloads and lists, not redacted: an item whose child
name and free text were blanked would still tell the reader that this child has a referral,
an EHC request or a review with them and when — which is itself the information consent
protects (HM Government, Information sharing advice for practitioners, 2024: share only what
the purpose needs). Counts ("total") are counted after dropping, for the same reason. A single
read that is not permitted answers 404, exactly as for an id that does not exist, so the
answer does not confirm that the record exists (a 403 would). Withdrawal or expiry takes
effect on the next read: nothing is cached per viewer.

Writes. A command that NAMES another organisation as the one to receive, run or contribute to
a piece of work (a referral's receiver, an integrated review's partner, the local authority of
an EHC request, the organisation asked for EHC advice) discloses the child to it, so at that
moment an active consent must cover that organisation or its agency for the work's category
(rule 4; a safeguarding grant is break-glass access for reading, not a basis for referring).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from schemas.vocabulary import Agency, Category
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


def agency_conflict(organisation_id: str, agency: Agency | str, known: Iterable[str]) -> str | None:
    """Why `organisation_id` cannot be named as a `agency`, or None. TAC has no register of
    organisations; what this service has recorded about an organisation (the agency it acted
    as, or was referred to, joined or was asked as) is the best evidence it has of what it is."""
    seen = sorted(set(map(str, known)))
    if seen and str(agency) not in seen:
        return f"organisation {organisation_id} is known here as {', '.join(seen)}, not {Agency(str(agency)).value}"
    return None
