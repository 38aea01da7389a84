"""This service's copy of the decision's state (consent_policy.state.FOLDED_TYPES), per
child: kept, loaded and folded into ConsentState.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import and_, exists, insert, or_, select
from sqlalchemy.orm import Session

from schemas.catalogue import parse_event
from consent_policy.state import ConsentState
from services.referrals.adapters.tables import CHUNK, children, consent_events, key, utcnow


def store_consent_event(session: Session, envelope) -> None:
    """Keep one event of the decision's state (a consent event, or a team event this service
    emitted) for the child it is about."""
    session.execute(insert(consent_events).values(
        event_id=key(envelope.id), child_id=key(envelope.subject), event_type=envelope.type,
        envelope=envelope.to_json_bytes().decode(), received_at=utcnow(),
    ))


def consent_state_for(session: Session, child_id: UUID) -> ConsentState:
    """Rebuild the child's consent state from this service's copy of tac.consent.v1. The
    fold is order-insensitive, so the order rows come back in does not matter."""
    rows = session.execute(select(consent_events.c.envelope).where(consent_events.c.child_id == key(child_id))).scalars()
    return ConsentState.from_events(parse_event(raw) for raw in rows)


def consent_state_for_children(session: Session, child_ids: list[str]) -> dict[str, ConsentState]:
    """Consent state per child, read CHUNK children at a time (no IN list grows with the store)."""
    found: dict[str, list] = {c: [] for c in child_ids}
    for start in range(0, len(child_ids), CHUNK):
        rows = session.execute(select(consent_events.c.child_id, consent_events.c.envelope)
                               .where(consent_events.c.child_id.in_(child_ids[start:start + CHUNK])))
        for child_id, raw in rows:
            found[child_id].append(parse_event(raw))
    return {c: ConsentState.from_events(envs) for c, envs in found.items()}


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
