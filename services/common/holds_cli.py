"""`tac holds`: the person's side of a consent hold (consent_policy.holds).

    tac holds list    --database-url URL
    tac holds release --database-url URL --child CHILD_ID --by NAME [--force]
    tac holds release --database-url URL --every-child --by NAME [--force]
    tac holds release --database-url URL --hold HOLD_ID --by NAME [--force]

A service that could not apply a message that may restrict access holds the child (its
consent-based access fails closed) and logs a CONSENT HOLD error. `list` shows each hold's
topic/partition@offset and event id. What to do before releasing:

* `malformed` (the message was dead-lettered): fix the cause, `tac deadletter replay` it, then
  release;
* `unknown_type` (a newer producer's type): **upgrade, then release**. Deploy a build that knows
  the type; make the service read the event again: reset its consumer group to the offset
  `list` shows (e.g. `kafka-consumer-groups --reset-offsets --to-offset N --topic T:P`, service
  stopped); then release. `release` refuses an unknown-type hold until its event is applied in
  that service (releasing earlier would reopen access without the restriction the event may
  carry); `--force` releases anyway, for a person who has decided the event restricts nothing.

The released row stays, naming who released it and when. `--every-child` releases the holds of
messages that could not be tied to one child; `--hold` one hold (its id is the first column of
`list`), leaving the child's other holds in force.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import MetaData, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consent_policy.store import ConsentCopy, NotYetApplied


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
    which.add_argument("--hold", type=UUID, metavar="HOLD_ID", help="one hold, by the id `list` shows")
    release.add_argument("--force", action="store_true",
                         help="release unknown-type holds whose event this service has not applied yet")
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
            released = _copy().release(session, child, by=args.by.strip(), at=now or datetime.now(timezone.utc),
                                       force=args.force, hold_id=None if args.hold is None else str(args.hold))
    except NotYetApplied as e:
        print(f"refused: {e}; upgrade the service and reset its group to the offset shown, then release "
              "(or --force):", file=sys.stderr)
        for hold in e.holds:
            print(f"  {_where(hold)}\t{hold['event_id'] or '(no event id)'}\t{hold['event_type'] or ''}",
                  file=sys.stderr)
        return 1
    except SQLAlchemyError as e:
        parser.error(f"cannot read the holds at --database-url: {e.__class__.__name__}: {e.args[0] if e.args else e}")
    finally:
        engine.dispose()
    what = f"hold {args.hold}" if args.hold is not None else "every child" if child is None else child
    print(f"released {released} hold(s) of {what}")
    return 0 if released else 1


def _print_holds(holds: list[dict]) -> None:
    if not holds:
        print("no open holds")
        return
    for hold in holds:
        print("\t".join([hold["hold_id"], hold["held_at"].isoformat() if hold["held_at"] else "", hold["child_id"] or "(every child)",
                         hold["why"], _where(hold), hold["event_id"] or "", hold["event_type"] or "", hold["reason"]]))


def _where(hold: dict) -> str:
    return f"{hold['topic']}/{hold['partition']}@{hold['offset']}" if hold["topic"] else "(applied directly)"
