"""Caseload reads (DESIGN §4): the store's open work for one organisation (adapters.caseload_store),
handed to the pure domain.caseload module, which decides what is due, overdue and in what order.

Every item is shown only when the consent decision permits it at read time (which needs the
caller's organisation on the child's team: after its removal, only its own records stay), for the caller's
organisation and agency (domain.access: the item's category, its author); what is
not permitted is dropped before counting and paging. Work is also only the caller's when it was
given to the caller's organisation AS the agency the caller's token says it is: a referral to
an area SENCO team is not an SLT's caseload because an organisation id was mistyped.
"""

from __future__ import annotations

from uuid import UUID

from schemas.vocabulary import Agency, Category
from services.common.errors import Forbidden, Invalid
from services.referrals.domain import access, caseload as cl, clock
from services.referrals.domain.rules import ChildRecord
from services.referrals.domain.state_machine import ReferralState
from services.referrals.service_layer.unit_of_work import Deps

MAX_LIMIT = 200


def _name(row) -> str:
    return f"{row['given_name']} {row['family_name']}"


def caseload(deps: Deps, caller, *, kind: str | None, overdue_only: bool, limit: int, offset: int) -> dict:
    if str(caller.agency) == Agency.PARENT or not caller.organisation_id:
        raise Forbidden("caseloads belong to organisations; a parent has none")
    if kind is not None and kind not in cl.KINDS:
        raise Invalid(f"kind must be one of {', '.join(cl.KINDS)}", field="kind")
    org, agency = caller.organisation_id, str(caller.agency)
    now = deps.now()
    today = now.date()
    # (child, author of the record, its category, the item, addressed and waiting): decided once
    # the consent states are read.
    found: list[tuple[str, str | None, Category, cl.CaseloadItem, bool]] = []
    with deps.reading() as store:
        if kind in (None, "referral"):
            found += [(x["child_id"], x["from_organisation_id"], Category.REFERRAL,
                       cl.referral_item(cl.OpenReferral(UUID(x["referral_id"]), UUID(x["child_id"]), _name(x), x["state"],
                                                        x["made_on"], x["to_agency"]), today, deps.targets),
                       x["state"] == ReferralState.MADE) for x in store.open_referrals_to(org, agency)]
        if kind in (None, "advice"):
            found += [(x["child_id"], x["la_organisation_id"], Category.EHC,
                       cl.advice_item(cl.OpenAdviceRequest(UUID(x["advice_id"]), UUID(x["request_id"]), UUID(x["child_id"]),
                                                           _name(x), x["requested_on"], x["due_on"]), today), False)
                      for x in store.open_advice_asked_of(org, agency)]
        if kind in (None, "ehc") and agency == Agency.LA_SEN_TEAM:
            found += [(x["child_id"], x["requested_by_organisation_id"], Category.EHC,
                       cl.ehc_item(cl.OpenAssessment(UUID(x["request_id"]), UUID(x["child_id"]), _name(x), x["state"],
                                                     x["requested_on"], tuple(x["exceptions"] or ())), today), False)
                      for x in store.open_assessments_of(org)]
        if kind in (None, "integrated_review"):
            found += [(x["child_id"], x["scheduled_by_organisation_id"], Category.HEALTH,
                       cl.review_item(cl.OpenReview(UUID(x["review_id"]), UUID(x["child_id"]), _name(x), x["recorded_on"],
                                                    x["scheduled_for"]), today), False)
                      for x in store.scheduled_reviews_of(org, agency)]
        child_ids = sorted({child for child, *_ in found})
        states = store.consent_state_for_children(child_ids)
        children = {r["child_id"]: _child(r) for r in store.children_by_id(child_ids)}
        awaiting = store.children_awaiting_answer(org, agency)
    viewer = access.viewer_of(caller)
    # A referral waiting for the caller's answer is read under the consent that let it be made
    # to the caller (it is not on the team until it accepts); everything else by the decision.
    items = [item for child, author, category, item, waiting in found
             if (access.may_see_request if waiting else access.may_see)(viewer, UUID(child), author, category, now,
                                                                       states[child])]
    # The child's name only where the one rule for personal details says so.
    named = {child for child in child_ids if access.may_see_details(caller, children[child], states[child], now,
                                                                    awaiting_answer=child in awaiting)}
    page = cl.page(items, kind=kind, overdue_only=overdue_only, limit=limit, offset=offset)
    return {"organisation_id": org, "today": today, "total": page.total, "limit": page.limit, "offset": page.offset,
            "items": [_item_json(i, str(i.child_id) in named) for i in page.items]}


def _child(row) -> ChildRecord:
    return ChildRecord(UUID(row["child_id"]), row["setting_organisation_id"], row["date_of_birth"])


def _item_json(i: cl.CaseloadItem, details_visible: bool) -> dict:
    """One caseload item; without the child's name (`details_hidden`) where
    access.may_see_details says no. Its dates are those of the work, not the child's."""
    return {"kind": i.kind, "id": i.id, "child_id": i.child_id,
            "child_name": i.child_name if details_visible else None, "state": i.state,
            "since": i.since, "days_waiting": i.days_waiting, "next_action": i.next_action,
            "next_due": i.next_due.model_dump() if i.next_due else None, "overdue": i.overdue,
            "days_overdue": i.days_overdue, "excused_by": [str(x) for x in i.excused_by],
            "details_hidden": not details_visible}


def review_watch(deps: Deps, caller, *, limit: int = 50, offset: int = 0) -> dict:
    """Children a health visiting service should see for the integrated review: from 23 months
    until the review is done past 36 months, or the child starts school — and of those, only
    the children the decision lets it see `health` about, per child now: on the child's team
    under a consent naming it or health visiting for `health`, or a safeguarding grant
    (DESIGN §3: the team is needed, consent decides; neither alone is enough). The list is
    made of the child's name and of dates derived from the date of birth, so a child is listed
    only where access.may_see_details lets the service see those too; otherwise not at all
    (a row without them would still say the child is of review age).

    The store narrows by date of birth and to children some consent event names the service
    or its agency in; the decision then runs per child, and the pure module orders the list."""
    if str(caller.agency) != Agency.HEALTH_VISITING or not caller.organisation_id:
        raise Forbidden("only a health visiting service has an integrated review list")
    org = caller.organisation_id
    now = deps.now()
    today = now.date()
    viewer = access.viewer_of(caller)
    with deps.reading() as store:
        rows = store.review_list_candidates(
            born_on_or_before=clock.latest_birth_date_reaching(clock.REVIEW_APPROACHING_MONTHS, today),
            born_after=clock.latest_birth_date_at_school(today), organisation_id=org, agency=str(Agency.HEALTH_VISITING))
        states = store.consent_state_for_children([x["child_id"] for x in rows])
        # The list is made of the child's record (its dates come from the date of birth the
        # setting recorded), so its author is the setting: never the health visitor's "own".
        shown = [x for x in rows if access.may_see(viewer, UUID(x["child_id"]), x["setting_organisation_id"],
                                                   Category.HEALTH, now, states[x["child_id"]])
                 and access.may_see_details(caller, _child(x), states[x["child_id"]], now)]
        reviews = store.review_state_for_children([x["child_id"] for x in shown])
    inputs = [cl.ReviewWatchInput(UUID(x["child_id"]), _name(x), x["date_of_birth"], *reviews.get(x["child_id"], (None, None)))
              for x in shown]
    items = cl.review_watch(inputs, today)
    return {"organisation_id": org, "today": today, "total": len(items), "limit": limit, "offset": offset, "items": [
        {"child_id": i.child_id, "child_name": i.child_name, "phase": i.phase, "age_months": i.age_months,
         "window_opens": i.window_opens, "hcp_due": i.hcp_due.model_dump(), "eyfs_due": i.eyfs_due.model_dump(),
         "scheduled_for": i.scheduled_for, "completed_on": i.completed_on, "done": i.done, "overdue": i.overdue}
        for i in items[offset: offset + limit]]}
