"""Caseload reads (DESIGN §4): the store's open work for one organisation, handed to the pure
services.referrals.caseload module, which decides what is due, overdue and in what order."""

from __future__ import annotations


from datetime import timedelta
from uuid import UUID

from sqlalchemy import and_, or_, select

from schemas.vocabulary import Agency, Category
from services.common.errors import Forbidden, Invalid
from services.consent.decision import Entry, Viewer, decide
from services.referrals import caseload as cl, store
from services.referrals.state_machine import OPEN_EHC_STATES, OPEN_REFERRAL_STATES, ReviewState
from services.referrals.unit_of_work import Deps

MAX_LIMIT = 200


def _name(row) -> str:
    return f"{row['given_name']} {row['family_name']}"


def caseload(deps: Deps, caller, *, kind: str | None, overdue_only: bool, limit: int, offset: int) -> dict:
    if str(caller.agency) == Agency.PARENT or not caller.organisation_id:
        raise Forbidden("caseloads belong to organisations; a parent has none")
    if kind is not None and kind not in cl.KINDS:
        raise Invalid(f"kind must be one of {', '.join(cl.KINDS)}", field="kind")
    org = caller.organisation_id
    today = deps.today()
    ch, r, a, e, ir = store.children, store.referrals, store.ehc_advice, store.ehc_requests, store.integrated_reviews
    items: list[cl.CaseloadItem] = []
    with deps.sessions() as session:
        if kind in (None, "referral"):
            rows = session.execute(select(r, ch.c.given_name, ch.c.family_name).join(ch, ch.c.child_id == r.c.child_id)
                                   .where(and_(r.c.to_organisation_id == org, r.c.state.in_(sorted(OPEN_REFERRAL_STATES))))).mappings()
            items += [cl.referral_item(cl.OpenReferral(UUID(x["referral_id"]), UUID(x["child_id"]), _name(x), x["state"],
                                                       x["made_on"], x["to_agency"]), today, deps.targets) for x in rows]
        if kind in (None, "advice"):
            rows = session.execute(select(a, ch.c.given_name, ch.c.family_name)
                                   .join(ch, ch.c.child_id == a.c.child_id).join(e, e.c.request_id == a.c.request_id)
                                   .where(and_(a.c.from_organisation_id == org, a.c.submitted_on.is_(None),
                                               e.c.state.in_(sorted(OPEN_EHC_STATES))))).mappings()
            items += [cl.advice_item(cl.OpenAdviceRequest(UUID(x["advice_id"]), UUID(x["request_id"]), UUID(x["child_id"]),
                                                          _name(x), x["requested_on"], x["due_on"]), today) for x in rows]
        if kind in (None, "ehc"):
            rows = session.execute(select(e, ch.c.given_name, ch.c.family_name).join(ch, ch.c.child_id == e.c.child_id)
                                   .where(and_(e.c.la_organisation_id == org, e.c.state.in_(sorted(OPEN_EHC_STATES))))).mappings()
            items += [cl.ehc_item(cl.OpenAssessment(UUID(x["request_id"]), UUID(x["child_id"]), _name(x), x["state"],
                                                    x["requested_on"], tuple(x["exceptions"] or ())), today) for x in rows]
        if kind in (None, "integrated_review"):
            rows = session.execute(select(ir, ch.c.given_name, ch.c.family_name).join(ch, ch.c.child_id == ir.c.child_id)
                                   .where(and_(ir.c.state == str(ReviewState.SCHEDULED),
                                               or_(ir.c.scheduled_by_organisation_id == org, ir.c.with_organisation_id == org)))).mappings()
            items += [cl.review_item(cl.OpenReview(UUID(x["review_id"]), UUID(x["child_id"]), _name(x), x["recorded_on"],
                                                   x["scheduled_for"]), today) for x in rows]
    page = cl.page(items, kind=kind, overdue_only=overdue_only, limit=limit, offset=offset)
    return {"organisation_id": org, "today": today, "total": page.total, "limit": page.limit, "offset": page.offset,
            "items": [_item_json(i) for i in page.items]}


def _item_json(i: cl.CaseloadItem) -> dict:
    return {"kind": i.kind, "id": i.id, "child_id": i.child_id, "child_name": i.child_name, "state": i.state,
            "since": i.since, "days_waiting": i.days_waiting, "next_action": i.next_action,
            "next_due": i.next_due.model_dump() if i.next_due else None, "overdue": i.overdue,
            "days_overdue": i.days_overdue, "excused_by": [str(x) for x in i.excused_by]}


def review_watch(deps: Deps, caller) -> dict:
    """Children a health visiting service should see for the integrated review: those it works
    with (team, a referral to it, a review scheduled by or with it) and those whose family has
    consented to share `health` information with it or with health visiting; nobody else."""
    if str(caller.agency) != Agency.HEALTH_VISITING or not caller.organisation_id:
        raise Forbidden("only a health visiting service has an integrated review list")
    org = caller.organisation_id
    now = deps.now()
    today = now.date()
    ch, ir = store.children, store.integrated_reviews
    # Only children young enough to be before school (the pure module narrows it further).
    oldest = today - timedelta(days=6 * 366)
    with deps.sessions() as session:
        kids = {x["child_id"]: x for x in session.execute(select(ch).where(ch.c.date_of_birth > oldest)).mappings()}
        ids = list(kids)
        involved: set[str] = set()
        if ids:
            involved |= set(session.execute(select(store.team_members.c.child_id).where(and_(
                store.team_members.c.organisation_id == org, store.team_members.c.left_at.is_(None)))).scalars())
            involved |= set(session.execute(select(store.referrals.c.child_id).where(and_(
                store.referrals.c.to_organisation_id == org, store.referrals.c.state.in_(sorted(OPEN_REFERRAL_STATES))))).scalars())
            involved |= set(session.execute(select(ir.c.child_id).where(
                or_(ir.c.scheduled_by_organisation_id == org, ir.c.with_organisation_id == org))).scalars())
        others = [c for c in ids if c not in involved]
        states = store.consent_state_for_children(session, others)
        viewer = Viewer(practitioner_id=caller.practitioner_id, organisation_id=org, agency=Agency.HEALTH_VISITING)
        consented = {c for c, st in states.items() if st.consent_ids_for(UUID(c)) and decide(
            viewer, Entry(event_id=UUID(int=0), child_id=UUID(c), author_organisation_id=None, category=Category.HEALTH),
            now, st).permitted}
        visible = involved | consented
        reviews: dict[str, dict] = {}
        for x in session.execute(select(ir).where(ir.c.child_id.in_(sorted(visible)))).mappings() if visible else []:
            current = reviews.get(x["child_id"])
            if current is None or (x["completed_on"] is not None and current["completed_on"] is None):
                reviews[x["child_id"]] = x
    inputs = [cl.ReviewWatchInput(UUID(c), _name(kids[c]), kids[c]["date_of_birth"],
                                  (reviews.get(c) or {}).get("completed_on"), (reviews.get(c) or {}).get("scheduled_for"))
              for c in visible if c in kids]
    items = cl.review_watch(inputs, today)
    return {"organisation_id": org, "today": today, "total": len(items), "items": [
        {"child_id": i.child_id, "child_name": i.child_name, "phase": i.phase, "age_months": i.age_months,
         "window_opens": i.window_opens, "hcp_due": i.hcp_due.model_dump(), "eyfs_due": i.eyfs_due.model_dump(),
         "scheduled_for": i.scheduled_for, "completed_on": i.completed_on, "done": i.done, "overdue": i.overdue}
        for i in items]}


