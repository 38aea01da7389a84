"""Reads of children (service_layer.casework_reads: a referral, an EHC request): a child's
details, the child's team; and two lists: "find a child" (the children whose team includes the caller's
organisation) and the caller's pending invitations.

Whoever may not know of the child (domain.team: not its setting, not on its team,
not a parent of it) gets the 404 of an unknown id from every read naming the child or a record
of it. Personal details (name, date of birth and what derives from it, key person) are shown
where domain.access.may_see_details says so — the one rule this service applies to
them everywhere, caseloads included; another team member reads the child's id and its setting.
The team's other members (organisation, how it joined, who invited it) are shown where
access.may_see_team says so; otherwise only the setting's row and the caller's own. Every
organisation a response names carries its display name from the directory.

Who may ask is domain.rules; what they then see is the consent decision at read
time (domain.access): the record itself must be permitted (its author sees it as
"own"), and the parts another organisation recorded in it (a receiver's response to a
referral, the local authority's decisions and the advice on an EHC request) are shown only
when the viewer may see that organisation's records too; otherwise they are left out and
`hidden` names them — except the parts that answer the viewer's own request (the receiver's
answer to its referral, the LA's decision on its EHC request, advice the LA asked for), which
it sees under rule 3 (own_request), as its timeline shows them. Whatever refuses a read answers 404 with the same words as an id that does
not exist, so a refusal does not confirm that the record exists.
"""

from __future__ import annotations

from uuid import UUID

from schemas.vocabulary import Agency
from consent_policy.state import ConsentState
from services.referrals.domain import access, clock, rules
from services.referrals.domain.team import is_member
from services.referrals.service_layer import membership
from services.referrals.service_layer.unit_of_work import Deps


def _team_json(deps: Deps, rows) -> list[dict]:
    name = deps.directory.name_of
    return [{"organisation_id": t["organisation_id"], "organisation_name": name(t["organisation_id"]) or t["organisation_id"],
             "agency": t["agency"], "role": t["role"], "since": t["joined_at"].date() if t["joined_at"] else None,
             "joined_through": t["joined_through"], "invited_by_organisation_id": t["invited_by_organisation_id"],
             "invited_by": name(t["invited_by_organisation_id"]) if t["invited_by_organisation_id"] else None}
            for t in rows]


def _setting_json(deps: Deps, row) -> dict:
    setting = row["setting_organisation_id"]
    return {"organisation_id": setting, "organisation_name": deps.directory.name_of(setting) or setting,
            "agency": Agency.SETTING.value, "role": "setting", "since": row["registered_at"].date(),
            "joined_through": "registered", "invited_by_organisation_id": None, "invited_by": None}


def _team_rows(deps: Deps, caller, child, row, members, state: ConsentState, now) -> list[dict]:
    """The team as the caller may see it (access.may_see_team): every member for a parent and
    for an organisation the decision lets see the setting's `referral` entries; to anyone else
    the setting's row and its own row only. Members are the decision's team at `now` (the table
    keeps how each joined; store.current_team)."""
    setting = row["setting_organisation_id"]
    others = [m for m in members if m["organisation_id"] != setting]
    if not access.may_see_team(caller, child, state, now):
        others = [m for m in others if m["organisation_id"] == caller.organisation_id]
    return [_setting_json(deps, row)] + _team_json(deps, others)


def _child_and_team(deps: Deps, caller, child_id: UUID, now):
    """The child (404 to whoever may not know of it), its row, its consent state and its team."""
    with deps.reading() as store:
        child = membership.known_child(store, caller, child_id, now)
        state = store.consent_state_for(child_id)
        return child, store.get_child_row(child_id), state, store.current_team(child_id, state, now)


def read_child(deps: Deps, caller, child_id: UUID) -> dict:
    """The child's id, its setting and its team (as access.may_see_team lets the caller see it);
    the child's personal details, key person and due dates where access.may_see_details says
    so, otherwise `details_hidden`."""
    now = deps.now()
    child, row, state, members = _child_and_team(deps, caller, child_id, now)
    setting = row["setting_organisation_id"]
    body = {"child_id": child_id, "setting_organisation_id": setting,
            "setting_organisation_name": deps.directory.name_of(setting) or setting,
            "team": _team_rows(deps, caller, child, row, members, state, now)}
    if not access.may_see_details(caller, child, state, now):
        return {**body, "details_hidden": True}
    return {**body, "details_hidden": False, "given_name": row["given_name"], "family_name": row["family_name"],
            "date_of_birth": row["date_of_birth"],
            "age_months": clock.age_in_months(row["date_of_birth"], deps.today()),
            "due_dates": [d.model_dump() for d in clock.child_due_dates(row["date_of_birth"])],
            "key_person": {"id": row["key_person_id"], "name": row["key_person_name"]} if row["key_person_id"] else None,
            "buddy": {"id": row["buddy_id"], "name": row["buddy_name"]} if row["buddy_id"] else None}


def read_team(deps: Deps, caller, child_id: UUID) -> dict:
    """GET /children/{id}/team: the setting, the team members and a parent of the child; the
    members' rows as access.may_see_team lets the caller see them."""
    now = deps.now()
    child, row, state, members = _child_and_team(deps, caller, child_id, now)
    return {"child_id": child_id, "members": _team_rows(deps, caller, child, row, members, state, now)}


def find_children(deps: Deps, caller, *, name: str | None, limit: int, offset: int) -> dict:
    """GET /children?name=: the children whose team includes the caller's organisation (its
    setting's children included; the decision's team at now), or a parent's own children. Name
    and age are shown, and the name is searched, only where access.may_see_details says so: a
    team member that may not see a child's name cannot find the child by it either, or the
    search would tell it the name."""
    now = deps.now()
    today = now.date()
    with deps.reading() as store:
        if str(caller.agency) == Agency.PARENT:
            rows = store.children_by_id(sorted(str(c) for c in caller.children))
        else:
            rows = store.children_of_team(caller.organisation_id, now)
        states = store.consent_state_for_children([r["child_id"] for r in rows])
    wanted = (name or "").strip().casefold()
    items = []
    for row in rows:
        child = rules.ChildRecord(UUID(row["child_id"]), row["setting_organisation_id"], row["date_of_birth"])
        visible = access.may_see_details(caller, child, states[row["child_id"]], now)
        full = f"{row['given_name']} {row['family_name']}"
        if wanted and not (visible and wanted in full.casefold()):
            continue
        setting = row["setting_organisation_id"]
        item = {"child_id": child.child_id, "setting_organisation_id": setting,
                "setting_organisation_name": deps.directory.name_of(setting) or setting, "details_hidden": not visible}
        if visible:
            item.update(given_name=row["given_name"], family_name=row["family_name"],
                        age_months=clock.age_in_months(row["date_of_birth"], today))
        items.append(item)
    return {"total": len(items), "limit": limit, "offset": offset, "items": items[offset: offset + limit]}


def pending_invitations(deps: Deps, caller) -> dict:
    """GET /invitations: the caller organisation's invitations not yet answered, withdrawn or
    expired, that it could accept now."""
    if str(caller.agency) == Agency.PARENT or not caller.organisation_id:
        return {"organisation_id": None, "items": []}
    now = deps.now()
    with deps.reading() as store:
        rows = store.pending_invitations_for(caller.organisation_id, str(caller.agency), now.date())
        children = {r["child_id"]: store.get_child(UUID(r["child_id"])) for r in rows}
        states = store.consent_state_for_children(sorted(children))
    # Listed only while a consent still covers the organisation invited (the invitation names
    # the child) and the inviter is still the setting or on the team (else it cannot be accepted).
    rows = [r for r in rows if access.invitation_visible(r, children[r["child_id"]], states[r["child_id"]], now)
            and is_member(states[r["child_id"]], children[r["child_id"]], r["invited_by_organisation_id"], now)]
    name = deps.directory.name_of
    return {"organisation_id": caller.organisation_id, "items": [
        {"invitation_id": r["invitation_id"], "child_id": r["child_id"],
         "invited_by_organisation_id": r["invited_by_organisation_id"],
         "invited_by": name(r["invited_by_organisation_id"]) or r["invited_by_organisation_id"],
         "message": r["message"], "sent_on": r["sent_on"], "expires_on": r["expires_on"]} for r in rows]}
