"""Integrated reviews, EHC needs assessment requests (their advice and the parent's views) and
transitions to school.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from consent_policy.store import CHUNK
from services.referrals.adapters.tables import (
    ehc_advice, ehc_parent_views, ehc_requests, integrated_reviews, key, transitions,
)


# --- integrated reviews ----------------------------------------------------------------------


def get_review(session: Session, review_id: UUID):
    return session.execute(select(integrated_reviews).where(integrated_reviews.c.review_id == key(review_id))).mappings().first()


def add_review(session: Session, **values) -> None:
    values["review_id"], values["child_id"] = key(values["review_id"]), key(values["child_id"])
    session.execute(insert(integrated_reviews).values(**values))


def review_state_for_children(session: Session, child_ids: list[str]) -> dict[str, tuple[date | None, date | None]]:
    """Per child: (the latest completion date, the date of the latest review scheduled)."""
    out: dict[str, tuple[date | None, date | None]] = {}
    ir = integrated_reviews
    for start in range(0, len(child_ids), CHUNK):
        rows = session.execute(select(ir.c.child_id, func.max(ir.c.completed_on), func.max(ir.c.scheduled_for))
                               .where(ir.c.child_id.in_(child_ids[start:start + CHUNK])).group_by(ir.c.child_id))
        for child_id, completed_on, scheduled_for in rows:
            out[child_id] = (completed_on, scheduled_for)
    return out


# --- EHC ------------------------------------------------------------------------------------


def get_ehc(session: Session, request_id: UUID):
    return session.execute(select(ehc_requests).where(ehc_requests.c.request_id == key(request_id))).mappings().first()


def open_ehc_for_child(session: Session, child_id: UUID, open_states: frozenset[str]):
    return session.execute(select(ehc_requests.c.request_id).where(and_(
        ehc_requests.c.child_id == key(child_id), ehc_requests.c.state.in_(sorted(open_states)),
    ))).first()


def add_ehc(session: Session, **values) -> None:
    values["request_id"], values["child_id"] = key(values["request_id"]), key(values["child_id"])
    session.execute(insert(ehc_requests).values(**values))


def get_advice(session: Session, advice_id: UUID):
    return session.execute(select(ehc_advice).where(ehc_advice.c.advice_id == key(advice_id))).mappings().first()


def add_advice(session: Session, **values) -> None:
    for k in ("advice_id", "request_id", "child_id"):
        values[k] = key(values[k])
    session.execute(insert(ehc_advice).values(**values))


def mark_advice_submitted(session: Session, advice_id: UUID, submitted_on: date) -> bool:
    result = session.execute(update(ehc_advice).where(and_(
        ehc_advice.c.advice_id == key(advice_id), ehc_advice.c.submitted_on.is_(None),
    )).values(submitted_on=submitted_on))
    return result.rowcount == 1


def advice_for(session: Session, request_id: UUID) -> list:
    """The advice asked for on the request, in the order it was stored."""
    return list(session.execute(select(ehc_advice).where(ehc_advice.c.request_id == key(request_id))).mappings())


def add_parent_views(session: Session, **values) -> None:
    for k in ("views_id", "request_id", "child_id"):
        values[k] = key(values[k])
    session.execute(insert(ehc_parent_views).values(**values))


def parent_views_for(session: Session, request_id: UUID) -> list:
    """The parent's views given on the request, oldest first."""
    v = ehc_parent_views
    return list(session.execute(select(v).where(v.c.request_id == key(request_id))
                                .order_by(v.c.given_at, v.c.views_id)).mappings())


# --- transition -----------------------------------------------------------------------------


def get_transition(session: Session, child_id: UUID):
    return session.execute(select(transitions).where(transitions.c.child_id == key(child_id))).mappings().first()


def plan_transition(session: Session, *, child_id: UUID, school_organisation_id: str, starts_on: date) -> None:
    values = dict(school_organisation_id=school_organisation_id, starts_on=starts_on, state="planned", completed_on=None)
    if get_transition(session, child_id) is None:
        session.execute(insert(transitions).values(child_id=key(child_id), **values))
    else:
        session.execute(update(transitions).where(transitions.c.child_id == key(child_id)).values(**values))
