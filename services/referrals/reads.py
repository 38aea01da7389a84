"""Single reads: a child's details, a referral, an EHC needs assessment request.

Who may ask is services.referrals.domain; what they then see is the consent decision at read
time (services.referrals.access): the record itself must be permitted (its author sees it as
"own"), and the parts another organisation recorded in it (a receiver's response to a
referral, the local authority's decisions and the advice on an EHC request) are shown only
when the viewer may see that organisation's records too; otherwise they are left out and
`hidden` names them. Whatever refuses a read answers 404 with the same words as an id that does
not exist, so a refusal does not confirm that the record exists.
"""

from __future__ import annotations

from uuid import UUID

from schemas.vocabulary import Agency, Category
from services.common.errors import NotFound
from services.consent.decision import ConsentState, Viewer
from services.referrals import access, clock, domain, store
from services.referrals.domain import NotPermitted
from services.referrals.state_machine import ReferralState
from services.referrals.unit_of_work import Deps

# A referral's states that the receiver recorded (accepted, declined, closed): its response.
_RECEIVER_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.DECLINED, ReferralState.CLOSED})


def _permits(rule, *args) -> bool:
    try:
        rule(*args)
        return True
    except NotPermitted:
        return False


def read_child(deps: Deps, caller, child_id: UUID) -> dict:
    missing = NotFound(f"no child {child_id}")
    with deps.sessions() as session:
        row = store.get_child_row(session, child_id)
        if row is None or not _permits(domain.require_may_read_child, caller, store.get_child(session, child_id)):
            raise missing
        team = session.execute(store.team_members.select().where(store.team_members.c.child_id == str(child_id))).mappings().all()
    return {
        "child_id": child_id, "given_name": row["given_name"], "family_name": row["family_name"],
        "date_of_birth": row["date_of_birth"], "setting_organisation_id": row["setting_organisation_id"],
        "due_dates": [d.model_dump() for d in clock.child_due_dates(row["date_of_birth"])],
        "team": [{"organisation_id": t["organisation_id"], "agency": t["agency"], "role": t["role"]}
                 for t in team if t["left_at"] is None],
    }


class _Sight:
    """What one viewer may see about one child now, by the author of each record."""

    def __init__(self, deps: Deps, caller, child_id: UUID, state: ConsentState):
        self.viewer: Viewer = access.viewer_of(caller)
        self.child_id, self.state, self.now = child_id, state, deps.now()

    def of(self, author_organisation_id: str | None, category: Category) -> bool:
        return access.may_see(self.viewer, self.child_id, author_organisation_id, category, self.now, self.state)


def read_referral(deps: Deps, caller, referral_id: UUID) -> dict:
    missing = NotFound(f"no referral {referral_id}")
    with deps.sessions() as session:
        row = store.get_referral_row(session, referral_id)
        referral = store.get_referral(session, referral_id)
        if row is None or referral is None or not _permits(domain.require_may_read_referral, caller, referral):
            raise missing
        sight = _Sight(deps, caller, referral.child_id, store.consent_state_for(session, referral.child_id))
    if not sight.of(referral.from_organisation_id, Category.REFERRAL):
        raise missing
    body = {k: row[k] for k in ("referral_id", "child_id", "from_organisation_id", "from_agency", "to_organisation_id",
                                "to_agency", "reason", "consent_id", "state", "made_on", "note")}
    hidden = []
    if row["state"] in _RECEIVER_STATES and not sight.of(referral.to_organisation_id, Category.REFERRAL):
        body.update(state=None, note=None)
        hidden = ["state", "note"]
    target = deps.targets.due(row["to_agency"], row["made_on"])
    return {**body, "days_waiting": clock.days_waiting(row["made_on"], deps.today()), "target": target.model_dump(),
            "hidden": hidden}


def read_ehc(deps: Deps, caller, request_id: UUID) -> dict:
    missing = NotFound(f"no EHC needs assessment request {request_id}")
    with deps.sessions() as session:
        row = store.get_ehc(session, request_id)
        if row is None:
            raise missing
        child = store.get_child(session, UUID(row["child_id"]))
        la = str(caller.agency) == Agency.LA_SEN_TEAM and caller.organisation_id == row["la_organisation_id"]
        if not la and not _permits(domain.require_may_read_child, caller, child):
            raise missing
        advice = session.execute(store.ehc_advice.select().where(store.ehc_advice.c.request_id == str(request_id))).mappings().all()
        sight = _Sight(deps, caller, child.child_id, store.consent_state_for(session, child.child_id))
    if not sight.of(row["requested_by_organisation_id"], Category.EHC):
        raise missing
    la_records = sight.of(row["la_organisation_id"], Category.EHC)
    today = deps.today()
    # Reg. 10(4) exceptions are shown beside the dates they may excuse; they never clear a flag.
    exceptions = (row["exceptions"] or []) if la_records else []
    dues = []
    for due in clock.ehc_due_dates(row["requested_on"]):
        # The statutory dates run from the request; whether they were met is the LA's record.
        st = clock.status(due, today, exceptions)
        met = {clock.EHC_DECISION: row["decided_on"], clock.EHC_FINAL_PLAN: row["finalised_on"]}.get(due.kind)
        dues.append({**due.model_dump(), "met_on": met if la_records else None,
                     "overdue": (st.overdue and met is None) if la_records else None,
                     "excused_by": [str(e) for e in st.excused_by]})
    body = {"request_id": request_id, "child_id": row["child_id"], "la_organisation_id": row["la_organisation_id"],
            "state": row["state"], "requested_on": row["requested_on"], "requested_by": row["requested_by"],
            "decided_on": row["decided_on"], "draft_issued_on": row["draft_issued_on"],
            "comments_due_on": row["comments_due_on"], "finalised_on": row["finalised_on"], "exceptions": exceptions,
            "due_dates": dues,
            "advice": [{"advice_id": a["advice_id"], "from_organisation_id": a["from_organisation_id"],
                        "requested_on": a["requested_on"], "due_on": a["due_on"],
                        "submitted_on": a["submitted_on"] if sight.of(a["from_organisation_id"], Category.EHC) else None}
                       for a in advice] if la_records else [],
            "hidden": []}
    if not la_records:
        # Even "still requested" would tell the viewer that the LA has not decided.
        body.update(state=None, decided_on=None, draft_issued_on=None, comments_due_on=None, finalised_on=None)
        body["hidden"] = ["state", "decided_on", "draft_issued_on", "comments_due_on", "finalised_on", "exceptions", "advice"]
    return body
