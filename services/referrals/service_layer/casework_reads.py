"""Single reads of casework: a referral and an EHC needs assessment request, with the parts
other organisations recorded in them shown as the decision lets the caller see them (the rules
of what is shown: service_layer.children_reads, domain.access)."""

from __future__ import annotations

from uuid import UUID

from schemas.vocabulary import Agency, Category
from services.common.errors import NotFound
from consent_policy.decision import Viewer
from consent_policy.state import ConsentState
from services.referrals.domain import access, clock, rules
from services.referrals.domain.rules import NotPermitted
from services.referrals.domain.state_machine import EHCState, ReferralState
from services.referrals.service_layer import membership
from services.referrals.service_layer.unit_of_work import Deps

# A referral's states that the receiver recorded (accepted, declined, closed): its response.
_RECEIVER_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.DECLINED, ReferralState.CLOSED})


def _permits(rule, *args) -> bool:
    try:
        rule(*args)
        return True
    except NotPermitted:
        return False


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
    with deps.reading() as store:
        row = store.get_referral_row(referral_id)
        referral = store.get_referral(referral_id)
        if row is None or referral is None:
            raise missing
        waiting = referral.state == ReferralState.MADE
        membership.known_child(store, caller, referral.child_id, deps.now(), missing=missing,
                               addressees=(referral.to_organisation_id,) if waiting else ())
        if not _permits(rules.require_may_read_referral, caller, referral):
            raise missing
        sight = _Sight(deps, caller, referral.child_id, store.consent_state_for(referral.child_id))
    # The receiver reads a referral waiting for its answer under the consent that let it be
    # named; once it has answered, as everyone else (services.referrals.domain.access).
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
    with deps.reading() as store:
        row = store.get_ehc(request_id)
        if row is None:
            raise missing
        child = membership.known_child(store, caller, UUID(row["child_id"]), deps.now(), missing=missing)
        la = str(caller.agency) == Agency.LA_SEN_TEAM and caller.organisation_id == row["la_organisation_id"]
        if not la and not _permits(rules.require_may_read_child, caller, child):
            raise missing
        advice = store.advice_for(request_id)
        given = store.parent_views_for(request_id)
        sight = _Sight(deps, caller, child.child_id, store.consent_state_for(child.child_id))
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
