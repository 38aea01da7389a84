"""The `tac` console script."""

from __future__ import annotations

from uuid import uuid4

import pytest

from schemas.vocabulary import Agency
from services.common.auth import Principal, TokenVerifier, dev_public_key_pem
from services.common.cli import SUBCOMMANDS, build_parser, main


@pytest.fixture
def dev_verifier(monkeypatch) -> TokenVerifier:
    monkeypatch.delenv("TAC_JWT_ISSUER", raising=False)
    monkeypatch.delenv("TAC_JWT_AUDIENCE", raising=False)
    return TokenVerifier(issuer="tac-dev", audience="tac", public_key_pem=dev_public_key_pem())


def run_token(capsys, *args: str) -> str:
    assert main(["token", *args]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    return out.strip()


def test_tac_token_prints_a_token_that_the_dev_public_key_verifies(capsys, dev_verifier):
    token = run_token(capsys, "--practitioner", "sam", "--organisation", "org-sunflowers",
                      "--agency", "setting", "--role", "senco", "--ttl", "600")

    assert dev_verifier.verify(token) == Principal(
        practitioner_id="sam", organisation_id="org-sunflowers", agency=Agency.SETTING, role="senco"
    )


def test_tac_token_for_a_parent_needs_no_organisation_and_carries_their_children(capsys, dev_verifier):
    first, second = uuid4(), uuid4()

    token = run_token(capsys, "--practitioner", "parent-amy", "--agency", "parent", "--role", "parent",
                      "--child", str(first), "--child", str(second))

    principal = dev_verifier.verify(token)
    assert principal.organisation_id is None
    assert principal.children == {first, second}


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--practitioner", "p", "--organisation", "o", "--agency", "wizard", "--role", "r"],
         "invalid choice: 'wizard' (choose from 'setting', 'area_senco'"),
        (["--practitioner", "p", "--agency", "setting", "--role", "r"],
         "--organisation is required for --agency setting"),
        (["--practitioner", "p", "--organisation", "o", "--agency", "parent", "--role", "parent"],
         "--organisation must be omitted for --agency parent"),
        (["--practitioner", "p", "--organisation", "o", "--agency", "school", "--role", "r", "--child", str(uuid4())],
         "--child is only for --agency parent"),
        (["--practitioner", "p", "--agency", "parent", "--role", "parent", "--child", "not-a-uuid"],
         "invalid UUID value"),
        (["--practitioner", "p", "--agency", "parent", "--role", "parent", "--ttl", "0"],
         "must be a positive number of seconds"),
        (["--practitioner", "p", "--agency", "parent", "--role", "parent", "--private-key", "/no/such.pem"],
         "cannot read --private-key"),
    ],
)
def test_tac_token_refuses_bad_arguments_with_a_usage_error(capsys, args, complaint):
    with pytest.raises(SystemExit) as exited:
        main(["token", *args])

    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_the_parser_offers_every_registered_subcommand():
    usage = build_parser().format_help()

    assert SUBCOMMANDS and all(name in usage for name in SUBCOMMANDS)
