"""Close the team rows of self-asserted joins (issue 10, security review): before revision 0003
an organisation joined a child's team by saying so itself (`POST /children/{id}/team` naming
its own organisation). 0003 kept those rows "for the record" but left them open, so they still
counted wherever the table was read (GET /children, the team list). They were never on the team
in the decision's state (0003 folds only each child's ChildRegistered), and nobody added them:
they are closed now, at the time of the upgrade, with `ended_by = self_asserted` saying why.
Rows closed already, and rows of joins by relationship (`joined_through` set), are untouched.

No TeamMemberLeft is emitted: the joins they close were never on the team in any service's
copy of the decision's state (the self-asserted TeamMemberJoined events carry no
`joined_through`, which the contract now requires).

Revision ID: 0005
Revises: 0004
Create Date: 2025-12-14
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The store's `team_members.ended_by` for these rows (not a TeamLeaveRoute: nobody removed them,
# they were never members).
SELF_ASSERTED = "self_asserted"


def _team_members() -> sa.TableClause:
    return sa.table("team_members", sa.column("joined_through"), sa.column("left_at"), sa.column("ended_by"))


def upgrade() -> None:
    t = _team_members()
    op.get_bind().execute(sa.update(t).where(sa.and_(t.c.joined_through.is_(None), t.c.left_at.is_(None)))
                          .values(left_at=datetime.now(timezone.utc), ended_by=SELF_ASSERTED))


def downgrade() -> None:
    t = _team_members()
    op.get_bind().execute(sa.update(t).where(t.c.ended_by == SELF_ASSERTED).values(left_at=None, ended_by=None))
