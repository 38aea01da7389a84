"""The open work addressed to one organisation, as the agency its token says, for its caseload
(services.referrals.service_layer.caseloads decides what of it the caller may see)."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.referrals.adapters.tables import children, ehc_advice, ehc_requests, integrated_reviews, referrals
from services.referrals.domain.state_machine import OPEN_EHC_STATES, OPEN_REFERRAL_STATES, ReviewState

_NAMES = (children.c.given_name, children.c.family_name)


def open_referrals_to(session: Session, organisation_id: str, agency: str) -> list:
    r = referrals
    return list(session.execute(select(r, *_NAMES).join(children, children.c.child_id == r.c.child_id)
                                .where(and_(r.c.to_organisation_id == organisation_id, r.c.to_agency == agency,
                                            r.c.state.in_(sorted(OPEN_REFERRAL_STATES))))).mappings())


def open_advice_asked_of(session: Session, organisation_id: str, agency: str) -> list:
    a, e = ehc_advice, ehc_requests
    return list(session.execute(select(a, e.c.la_organisation_id, *_NAMES)
                                .join(children, children.c.child_id == a.c.child_id).join(e, e.c.request_id == a.c.request_id)
                                .where(and_(a.c.from_organisation_id == organisation_id, a.c.from_agency == agency,
                                            a.c.submitted_on.is_(None), e.c.state.in_(sorted(OPEN_EHC_STATES))))).mappings())


def open_assessments_of(session: Session, la_organisation_id: str) -> list:
    e = ehc_requests
    return list(session.execute(select(e, *_NAMES).join(children, children.c.child_id == e.c.child_id)
                                .where(and_(e.c.la_organisation_id == la_organisation_id,
                                            e.c.state.in_(sorted(OPEN_EHC_STATES))))).mappings())


def scheduled_reviews_of(session: Session, organisation_id: str, agency: str) -> list:
    """Reviews still scheduled that the organisation scheduled, or is the partner of as that agency."""
    ir = integrated_reviews
    partner = and_(ir.c.with_organisation_id == organisation_id, or_(ir.c.with_agency.is_(None), ir.c.with_agency == agency))
    return list(session.execute(select(ir, *_NAMES).join(children, children.c.child_id == ir.c.child_id)
                                .where(and_(ir.c.state == str(ReviewState.SCHEDULED),
                                            or_(ir.c.scheduled_by_organisation_id == organisation_id, partner)))).mappings())
