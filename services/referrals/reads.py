"""Single reads: a child's details, the child's team, a referral, an EHC needs assessment
request; and two lists: "find a child" (the children whose team includes the caller's
organisation) and the caller's pending invitations.

Whoever may not know of the child (services.referrals.team: not its setting, not on its team,
not a parent of it) gets the 404 of an unknown id from every read naming the child or a record
of it. Personal details (name, date of birth and what derives from it, key person) are shown
where services.referrals.access.may_see_details says so — the one rule this service applies to
them everywhere, caseloads included; another team member reads the child's id and its setting.
The team's other members (organisation, how it joined, who invited it) are shown where
access.may_see_team says so; otherwise only the setting's row and the caller's own. Every
organisation a response names carries its display name from the directory.

Who may ask is services.referrals.domain; what they then see is the consent decision at read
time (services.referrals.access): the record itself must be permitted (its author sees it as
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

from schemas.vocabulary import Agency, Category
from services.common.errors import NotFound
from consent_policy.decision import Viewer
from consent_policy.state import ConsentState
from services.referrals import access, clock, domain, store, team
from services.referrals.domain import NotPermitted
from services.referrals.state_machine import EHCState, ReferralState
from services.referrals.unit_of_work import Deps

# A referral's states that the receiver recorded (accepted, declined, closed): its response.
_RECEIVER_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.DECLINED, ReferralState.CLOSED})


def _permits(rule, *args) -> bool:
    try:
        rule(*args)
        return True
    except NotPermitted:
        return False


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


def read_child(deps: Deps, caller, child_id: UUID) -> dict:
    """The child's id, its setting and its team (as access.may_see_team lets the caller see it);
    the child's personal details, key person and due dates where access.may_see_details says
    so, otherwise `details_hidden`."""
    now = deps.now()
    with deps.sessions() as session:
        child = team.known_child(session, caller, child_id, now)
        row = store.get_child_row(session, child_id)
        state = store.consent_state_for(session, child_id)
        members = store.current_team(session, child_id, state, now)
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
    with deps.sessions() as session:
        child = team.known_child(session, caller, child_id, now)
        row = store.get_child_row(session, child_id)
        state = store.consent_state_for(session, child_id)
        members = store.current_team(session, child_id, state, now)
    return {"child_id": child_id, "members": _team_rows(deps, caller, child, row, members, state, now)}


def find_children(deps: Deps, caller, *, name: str | None, limit: int, offset: int) -> dict:
    """GET /children?name=: the children whose team includes the caller's organisation (its
    setting's children included; the decision's team at now), or a parent's own children. Name
    and age are shown, and the name is searched, only where access.may_see_details says so: a
    team member that may not see a child's name cannot find the child by it either, or the
    search would tell it the name."""
    now = deps.now()
    today = now.date()
    with deps.sessions() as session:
        if str(caller.agency) == Agency.PARENT:
            rows = store.children_by_id(session, sorted(str(c) for c in caller.children))
        else:
            rows = store.children_of_team(session, caller.organisation_id, now)
        states = store.consent_state_for_children(session, [r["child_id"] for r in rows])
    wanted = (name or "").strip().casefold()
    items = []
    for row in rows:
        child = domain.ChildRecord(UUID(row["child_id"]), row["setting_organisation_id"], row["date_of_birth"])
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
    with deps.sessions() as session:
        rows = store.pending_invitations_for(session, caller.organisation_id, str(caller.agency), now.date())
        children = {r["child_id"]: store.get_child(session, UUID(r["child_id"])) for r in rows}
        states = store.consent_state_for_children(session, sorted(children))
    # Listed only while a consent still covers the organisation invited (the invitation names
    # the child) and the inviter is still the setting or on the team (else it cannot be accepted).
    rows = [r for r in rows if access.invitation_visible(r, children[r["child_id"]], states[r["child_id"]], now)
            and team.is_member(states[r["child_id"]], children[r["child_id"]], r["invited_by_organisation_id"], now)]
    name = deps.directory.name_of
    return {"organisation_id": caller.organisation_id, "items": [
        {"invitation_id": r["invitation_id"], "child_id": r["child_id"],
         "invited_by_organisation_id": r["invited_by_organisation_id"],
         "invited_by": name(r["invited_by_organisation_id"]) or r["invited_by_organisation_id"],
         "message": r["message"], "sent_on": r["sent_on"], "expires_on": r["expires_on"]} for r in rows]}


class _Sight:
    """What one viewer may see about one child now, by the author of each record."""

    def __init__(self, deps: Deps, caller, child_id: UUID, state: ConsentState):
        self.viewer: Viewer = access.viewer_of(caller)
        self.child_id, self.state, self.now = child_id, state, deps.now()

    def of(self, author_organisation_id: str | None, category: Category, *, answers_request_of: str | None = None) -> bool:
        return access.may_see(self.viewer, self.child_id, author_organisation_id, category, self.now, self.state,
                              answers_request_of=answers_request_of)

    def request(self, author_organisation_id: str | None, category: Category) -> bool:
        return access.may_see_request(self.viewer, self.child_id, author_organisation_id, category, self.now, self.state)


def read_referral(deps: Deps, caller, referral_id: UUID) -> dict:
    missing = NotFound(f"no referral {referral_id}")
    with deps.sessions() as session:
        row = store.get_referral_row(session, referral_id)
        referral = store.get_referral(session, referral_id)
        if row is None or referral is None:
            raise missing
        waiting = referral.state == ReferralState.MADE
        team.known_child(session, caller, referral.child_id, deps.now(), missing=missing,
                         addressees=(referral.to_organisation_id,) if waiting else ())
        if not _permits(domain.require_may_read_referral, caller, referral):
            raise missing
        sight = _Sight(deps, caller, referral.child_id, store.consent_state_for(session, referral.child_id))
    # The receiver reads a referral waiting for its answer under the consent that let it be
    # named; once it has answered, as everyone else (services.referrals.access).
    addressed = waiting and caller.organisation_id == referral.to_organisation_id
    if not (sight.request(referral.from_organisation_id, Category.REFERRAL) if addressed
            else sight.of(referral.from_organisation_id, Category.REFERRAL)):
        raise missing
    body = {k: row[k] for k in ("referral_id", "child_id", "from_organisation_id", "from_agency", "to_organisation_id",
                                "to_agency", "reason", "consent_id", "state", "made_on", "note")}
    hidden = []
    # The receiver's answer (accepted, declined, closed; its note) answers the referrer's
    # request: the referrer sees it under rule 3 (own_request), as its timeline shows it.
    if row["state"] in _RECEIVER_STATES and not sight.of(referral.to_organisation_id, Category.REFERRAL,
                                                         answers_request_of=referral.from_organisation_id):
        body.update(state=None, note=None)
        hidden = ["state", "note"]
    target = deps.targets.due(row["to_agency"], row["made_on"])
    name = deps.directory.name_of
    body.update(from_organisation_name=name(row["from_organisation_id"]) or row["from_organisation_id"],
                to_organisation_name=name(row["to_organisation_id"]) or row["to_organisation_id"])
    return {**body, "days_waiting": clock.days_waiting(row["made_on"], deps.today()), "target": target.model_dump(),
            "hidden": hidden}


def read_ehc(deps: Deps, caller, request_id: UUID) -> dict:
    """GET /ehc-requests/{id}: the request, its statutory dates and the advice asked for, as the
    decision lets the caller see them. The advice received is of two kinds, in two lists:
    `advice` (asked of organisations; `submitted_on` set once given) and `parent_views` (the
    parent's views, wishes and feelings and the child's, SEND Regulations 2014 reg. 6(1)(a), 7:
    [{views_id, given_on, parent_views, child_views}], oldest first); `advice_received` counts
    both as the caller may see them."""
    missing = NotFound(f"no EHC needs assessment request {request_id}")
    with deps.sessions() as session:
        row = store.get_ehc(session, request_id)
        if row is None:
            raise missing
        child = team.known_child(session, caller, UUID(row["child_id"]), deps.now(), missing=missing)
        la = str(caller.agency) == Agency.LA_SEN_TEAM and caller.organisation_id == row["la_organisation_id"]
        if not la and not _permits(domain.require_may_read_child, caller, child):
            raise missing
        advice = session.execute(store.ehc_advice.select().where(store.ehc_advice.c.request_id == str(request_id))).mappings().all()
        given = store.parent_views_for(session, request_id)
        sight = _Sight(deps, caller, child.child_id, store.consent_state_for(session, child.child_id))
    if not sight.of(row["requested_by_organisation_id"], Category.EHC):
        raise missing
    la_records = sight.of(row["la_organisation_id"], Category.EHC)
    # The LA's decision to assess or not (EHCAssessmentStarted / Declined) answers the request:
    # its requester sees it under rule 3 (own_request), as its timeline shows it; what the LA
    # records after (the draft, the final plan, the advice it gathers) only under consent.
    la_decision = la_records or sight.of(row["la_organisation_id"], Category.EHC,
                                         answers_request_of=row["requested_by_organisation_id"])
    decided = {EHCState.STARTED: EHCState.STARTED, EHCState.DRAFT_ISSUED: EHCState.STARTED,
               EHCState.FINALISED: EHCState.STARTED, EHCState.DECLINED: EHCState.DECLINED}.get(row["state"])
    today = deps.today()
    # Reg. 10(4) exceptions are shown beside the dates they may excuse; they never clear a flag.
    exceptions = (row["exceptions"] or []) if la_records else []
    dues = []
    for due in clock.ehc_due_dates(row["requested_on"]):
        # The statutory dates run from the request; whether they were met is the LA's record.
        st = clock.status(due, today, exceptions)
        met = {clock.EHC_DECISION: row["decided_on"], clock.EHC_FINAL_PLAN: row["finalised_on"]}.get(due.kind)
        shown = la_decision if due.kind == clock.EHC_DECISION else la_records
        dues.append({**due.model_dump(), "met_on": met if shown else None,
                     "overdue": (st.overdue and met is None) if shown else None,
                     "excused_by": [str(e) for e in st.excused_by]})
    name = deps.directory.name_of
    body = {"request_id": request_id, "child_id": row["child_id"], "la_organisation_id": row["la_organisation_id"],
            "la_organisation_name": name(row["la_organisation_id"]) or row["la_organisation_id"],
            "state": row["state"], "decision": decided if la_decision else None,
            "requested_on": row["requested_on"], "requested_by": row["requested_by"],
            "decided_on": row["decided_on"], "draft_issued_on": row["draft_issued_on"],
            "comments_due_on": row["comments_due_on"], "finalised_on": row["finalised_on"], "exceptions": exceptions,
            "due_dates": dues,
            "advice": [{"advice_id": a["advice_id"], "from_organisation_id": a["from_organisation_id"],
                        "from_organisation_name": name(a["from_organisation_id"]) or a["from_organisation_id"],
                        "requested_on": a["requested_on"], "due_on": a["due_on"],
                        # Advice submitted answers the LA's request for it (rule 3 for the LA).
                        "submitted_on": a["submitted_on"] if sight.of(a["from_organisation_id"], Category.EHC,
                                                                      answers_request_of=row["la_organisation_id"])
                        else None}
                       for a in advice] if la_records else [],
            "hidden": []}
    # The parent's views (EHCParentViewsGiven): the parent's own records, authored by no
    # organisation, so a practitioner sees them under a consent covering `ehc` on the team (rule
    # 5) and a parent always (rule 1) — the decision the timeline makes for the same entries.
    views_visible = sight.of(None, Category.EHC)
    body["parent_views"] = [{"views_id": v["views_id"], "given_on": v["given_on"], "parent_views": v["parent_views"],
                             "child_views": v["child_views"]} for v in given] if views_visible else []
    body["advice_received"] = (sum(1 for a in body["advice"] if a["submitted_on"] is not None)
                               + len(body["parent_views"]))
    if not views_visible:
        body["hidden"].append("parent_views")
    if not la_records:
        # Even "still requested" would tell the viewer that the LA has not decided — except to
        # the requester, who sees the LA's decision (or that there is none yet) as its own
        # request's answer; a state past the decision is the LA's record, not that answer.
        as_answer = la_decision and row["state"] in (EHCState.REQUESTED, EHCState.STARTED, EHCState.DECLINED)
        body.update(state=row["state"] if as_answer else None, decided_on=row["decided_on"] if la_decision else None,
                    draft_issued_on=None, comments_due_on=None, finalised_on=None)
        body["hidden"] = [*([] if as_answer else ["state"]), *([] if la_decision else ["decided_on"]),
                          "draft_issued_on", "comments_due_on", "finalised_on", "exceptions", "advice", *body["hidden"]]
    return body
