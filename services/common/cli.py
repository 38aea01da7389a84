"""The `tac` console script.

    tac token --practitioner sam --organisation org-sunflowers --agency setting --role senco
    tac token --practitioner parent-1 --agency parent --role parent --child <uuid>
    tac deadletter list [--reason SUBSTR] [--topic SOURCE_TOPIC]
    tac deadletter replay (--offset [PARTITION:]OFFSET ... | --reason SUBSTR | --all)
    tac holds list --database-url URL              (services.common.holds_cli)

Subcommands are a table (`SUBCOMMANDS`): to add one, write `add_arguments(parser)` and
`run(args) -> exit status`, and add a line to the table.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import jwt
from pydantic import ValidationError

from schemas.vocabulary import Agency
from services.common import deadletter_tool, holds_cli
from services.common.dev_tokens import DEV_PRIVATE_KEY_PATH, issue_token
from services.common.settings import (
    DEFAULT_JWT_AUDIENCE,
    DEFAULT_JWT_ISSUER,
    ENV_JWT_AUDIENCE,
    ENV_JWT_ISSUER,
)


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------- tac token


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return number


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--practitioner", required=True, help="practitioner id (the parent's person id for a parent)")
    parser.add_argument("--organisation", help="organisation id; omit only for --agency parent")
    parser.add_argument("--agency", required=True, choices=[a.value for a in Agency], help="organisation kind")
    parser.add_argument("--role", required=True, help="role, e.g. senco, area_senco, slt, parent")
    parser.add_argument(
        "--child", action="append", type=UUID, default=[], metavar="CHILD_ID",
        help="a child the parent holds parental responsibility for (repeatable; parents only)",
    )
    parser.add_argument("--ttl", type=_positive_int, default=3600, metavar="SECONDS", help="lifetime (default 3600)")
    parser.add_argument(
        "--private-key", type=Path, default=DEV_PRIVATE_KEY_PATH, metavar="PATH",
        help="PEM private key to sign with (default: the development key)",
    )
    parser.add_argument("--issuer", default=os.environ.get(ENV_JWT_ISSUER) or DEFAULT_JWT_ISSUER,
                        help=f"iss claim (default: ${ENV_JWT_ISSUER} or {DEFAULT_JWT_ISSUER})")
    parser.add_argument("--audience", default=os.environ.get(ENV_JWT_AUDIENCE) or DEFAULT_JWT_AUDIENCE,
                        help=f"aud claim (default: ${ENV_JWT_AUDIENCE} or {DEFAULT_JWT_AUDIENCE})")
    parser.add_argument("--kid", help="key id to put in the token header")


def _token_run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    is_parent = args.agency == Agency.PARENT.value
    if is_parent and args.organisation:
        parser.error("--organisation must be omitted for --agency parent: a parent acts for no organisation")
    if not is_parent and not args.organisation:
        parser.error(f"--organisation is required for --agency {args.agency}")
    if args.child and not is_parent:
        parser.error("--child is only for --agency parent")
    try:
        private_key = args.private_key.read_bytes()
    except OSError as e:
        parser.error(f"cannot read --private-key {str(args.private_key)!r}: {e.strerror}")
    try:
        token = issue_token(
            private_key,
            practitioner=args.practitioner,
            organisation=args.organisation,
            agency=Agency(args.agency),
            role=args.role,
            children=args.child,
            ttl_s=args.ttl,
            issuer=args.issuer,
            audience=args.audience,
            kid=args.kid,
        )
    except ValidationError as e:
        parser.error("; ".join(_describe(err) for err in e.errors(include_url=False, include_input=False)))
    except (ValueError, jwt.PyJWTError) as e:  # e.g. a key that is not a PEM private key
        parser.error(f"cannot sign the token: {e}")
    print(token)
    return 0


_OPTION_OF_FIELD = {"practitioner_id": "--practitioner", "organisation_id": "--organisation", "role": "--role"}


def _describe(err: Mapping[str, object]) -> str:
    where = ".".join(_OPTION_OF_FIELD.get(str(p), str(p)) for p in err["loc"])  # type: ignore[attr-defined]
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


# ---------------------------------------------------------------------------- the table

SUBCOMMANDS: dict[str, Subcommand] = {
    "token": Subcommand("print a signed bearer token (development key by default)", _token_arguments, _token_run),
    "deadletter": Subcommand("list parked messages, or replay them to their source topic",
                             deadletter_tool.add_arguments, deadletter_tool.run),
    "holds": Subcommand("list or release consent holds (children whose consent-based access failed closed)",
                        holds_cli.add_arguments, holds_cli.run),
}


def build_parser(subcommands: Mapping[str, Subcommand] = SUBCOMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tac", description="TAC command-line tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in subcommands.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run, parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
