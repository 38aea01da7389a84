"""This service's copy of the decision's state (consent_policy.state.FOLDED_TYPES), per child:
kept, loaded and folded by consent_policy.store (mounted in adapters.tables); and the one query
of this service that reads the copy's rows itself, the review list's candidates."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from consent_policy.state import ConsentState
from services.referrals.adapters.tables import children, consent_copy, consent_events, key


def consent_state_for(session: Session, child_id: UUID) -> ConsentState:
    """The child's consent state, folded from this service's copy at read time."""
    return consent_copy.state_for(session, key(child_id))


def consent_state_for_children(session: Session, child_ids: list[str]) -> dict[str, ConsentState]:
    """Consent state per child, by the ids as given."""
    return consent_copy.states_for(session, child_ids)


def _mentions(organisation_id: str, agency: str):
    """Consent events whose JSON names the organisation or the agency: a grant or a safeguarding
    grant that could permit it. A necessary condition only (a withdrawn consent still matches);
    the consent decision, run on every row, decides."""
    text = consent_events.c.envelope
    return or_(text.contains(f'"{organisation_id}"', autoescape=True), text.contains(f'"{agency}"', autoescape=True))


def review_list_candidates(session: Session, *, born_on_or_before: date, born_after: date, organisation_id: str,
                           agency: str) -> list:
    """Children old enough for the integrated review list and not yet at school (bounds on the
    date of birth, computed by services.referrals.domain.clock), of whom some consent event names the
    health visiting organisation or its agency — the only children it could be permitted to see
    (it never authored a child's record). In date-of-birth order."""
    named = exists().where(and_(consent_events.c.child_id == children.c.child_id, _mentions(organisation_id, agency)))
    return list(session.execute(
        select(children.c.child_id, children.c.given_name, children.c.family_name, children.c.date_of_birth,
               children.c.setting_organisation_id)
        .where(and_(children.c.date_of_birth <= born_on_or_before, children.c.date_of_birth > born_after, named))
        .order_by(children.c.date_of_birth, children.c.child_id)
    ).mappings())
