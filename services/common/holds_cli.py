"""`tac holds`: the person's side of a consent hold (consent_policy.holds).

    tac holds list    --database-url URL
    tac holds release --database-url URL --child CHILD_ID --by NAME
    tac holds release --database-url URL --every-child --by NAME

A service that could not apply a message that may restrict access holds the child (its
consent-based access fails closed) and logs a CONSENT HOLD error. Once a person has looked at
the dead-lettered message, fixed or replayed it (or upgraded the service so it knows the new
type), they release the hold in that service's database; the row stays, naming who released it
and when. `--every-child` releases the holds of messages that could not be tied to one child.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import MetaData, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consent_policy.store import ConsentCopy


def _copy() -> ConsentCopy:
    # The holds table is the same in every enforcing service's database: one definition.
    return ConsentCopy(MetaData())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="holds_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the open holds (oldest first)")
    release = actions.add_parser("release", help="release a child's open holds, recording who did")
    for sub in (listing, release):
        sub.add_argument("--database-url", required=True, metavar="URL",
                         help="the service's database (SQLAlchemy URL), e.g. postgresql+psycopg://…/tac_timeline")
    which = release.add_mutually_exclusive_group(required=True)
    which.add_argument("--child", type=UUID, metavar="CHILD_ID", help="the held child")
    which.add_argument("--every-child", action="store_true",
                       help="the holds of messages that could not be tied to one child")
    release.add_argument("--by", required=True, metavar="NAME", help="who resolved the hold (kept in its history)")


def run(args: argparse.Namespace, *, now: datetime | None = None) -> int:
    parser: argparse.ArgumentParser = args.parser
    engine = create_engine(args.database_url)
    try:
        with Session(engine) as session, session.begin():
            if args.holds_action == "list":
                _print_holds(_copy().open_holds(session))
                return 0
            if not args.by.strip():
                parser.error("--by must name the person who resolved the hold")
            child = None if args.every_child else args.child
            released = _copy().release(session, child, by=args.by.strip(), at=now or datetime.now(timezone.utc))
    except SQLAlchemyError as e:
        parser.error(f"cannot read the holds at --database-url: {e.__class__.__name__}: {e.args[0] if e.args else e}")
    finally:
        engine.dispose()
    print(f"released {released} hold(s) of {'every child' if child is None else child}")
    return 0 if released else 1


def _print_holds(holds: list[dict]) -> None:
    if not holds:
        print("no open holds")
        return
    for hold in holds:
        where = f"{hold['topic']}/{hold['partition']}@{hold['offset']}" if hold["topic"] else "(applied directly)"
        print("\t".join([hold["held_at"].isoformat() if hold["held_at"] else "", hold["child_id"] or "(every child)",
                         hold["why"], where, hold["event_type"] or "", hold["reason"]]))
