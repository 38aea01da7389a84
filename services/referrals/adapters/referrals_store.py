"""Referrals, and the compare-and-set every state machine's move goes through.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from services.referrals.adapters import tables
from services.referrals.adapters.tables import key, referrals
from services.referrals.domain.rules import ReferralRecord

# The tables whose rows move through a state machine, by name, with their key column.
MOVABLE = {"referrals": "referral_id", "integrated_reviews": "review_id", "ehc_requests": "request_id",
           "transitions": "child_id"}


def add_referral(session: Session, **values) -> None:
    for k in ("referral_id", "child_id", "consent_id"):
        values[k] = key(values[k])
    session.execute(insert(referrals).values(**values))


def get_referral(session: Session, referral_id: UUID) -> ReferralRecord | None:
    row = session.execute(select(referrals).where(referrals.c.referral_id == key(referral_id))).mappings().first()
    if row is None:
        return None
    return ReferralRecord(referral_id=UUID(row["referral_id"]), child_id=UUID(row["child_id"]),
                          from_organisation_id=row["from_organisation_id"], to_organisation_id=row["to_organisation_id"],
                          to_agency=row["to_agency"], state=row["state"])


def get_referral_row(session: Session, referral_id: UUID):
    return session.execute(select(referrals).where(referrals.c.referral_id == key(referral_id))).mappings().first()


def children_awaiting_answer(session: Session, organisation_id: str, agency: str) -> set[str]:
    """Children with a referral made to the organisation, as that agency, still waiting for its
    answer (state made)."""
    return set(session.execute(select(referrals.c.child_id).where(and_(
        referrals.c.to_organisation_id == organisation_id, referrals.c.to_agency == agency,
        referrals.c.state == "made"))).scalars())


def move(session: Session, table_name: str, key_value: UUID | str, *, expected_state: str, **values) -> bool:
    """Compare-and-set on `state`: False when someone else moved it first (two accepts racing)."""
    table = getattr(tables, table_name)
    result = session.execute(update(table).where(and_(
        table.c[MOVABLE[table_name]] == key(key_value), table.c.state == expected_state)).values(**values))
    return result.rowcount == 1
