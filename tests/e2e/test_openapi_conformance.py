"""Each service's HTTP API answers what its OpenAPI document says, checked by schemathesis (a tool
TAC's authors did not write): every operation, with a valid token, every check, schema-valid and
schema-invalid requests, a bounded and seeded number of examples.

The four services run as the e2e tests run them (demo/stack.py: `python -m services.<name>`, real
broker), each on a fresh PostgreSQL database, so the lifespan, migrations and store are the real
ones. A failure names the operation, the check and a `curl` that reproduces it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis

from demo.cast import ADA, PRIYA
from demo.stack import ServiceProcess, Stack
from tests.conftest import _fresh_postgres_database
from tests.e2e import conformance

API_NAMES = ("referrals", "consent", "timeline", "notifications")
# Apart from the demo (8000-8004), the story (18001-18004) and the browser tests (28000-28004).
BASE_PORT = int(os.environ.get("TAC_E2E_CONFORMANCE_BASE_PORT", "18100"))

# Bounded and reproducible: the same seed gives the same requests on every run (CI included), and
# no example database carries failures from one run into the next.
EXAMPLES_PER_OPERATION = 15
SEED = 14
ADAS_CHILD = uuid.UUID("6b0d5a0e-4c1f-4b8e-9a57-2f1d3c9e8a14")


# Rules a JSON Schema cannot state, per operation: the fields whose rule may refuse a request
# the OpenAPI document calls valid (422, naming the field). positive_data_acceptance expects 422
# for these operations only, and `refuses_valid_input_only_for_undocumentable_rules` checks that
# every such 422 names one of these fields, so any other refusal of valid input still fails.
UNDOCUMENTABLE_RULES = {
    # "TAC is for children under five": relative to today's date.
    ("POST", "/children"): {"date_of_birth"},
    # An opaque cursor: only a `next_before` this API returned is one.
    ("GET", "/children/{child_id}/timeline"): {"before"},
    # A webhook URL is refused unless urllib reads an http(s) URL with a host and no credentials,
    # and its host resolves to a public address (a DNS lookup at request time).
    ("PUT", "/subscriptions/me"): {"webhook_url"},
}
# What positive_data_acceptance accepts by default (schemathesis 4.x), plus 422.
_ACCEPTED_FOR_VALID_INPUT = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx", 422]


@schemathesis.check
def refuses_valid_input_only_for_undocumentable_rules(ctx, response, case) -> None:
    fields = UNDOCUMENTABLE_RULES.get((case.method.upper(), case.path))
    if fields is None or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 422:
        return
    problem = response.json()
    named = {problem.get("field")} | {e.get("field") for e in problem.get("errors") or ()}
    assert named & fields, (f"a schema-valid request was refused naming {sorted(map(str, named))}, "
                            f"not one of the rules the schema cannot state ({sorted(fields)}): {problem}")


def conformance_config(token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {
            "mode": "all",  # schema-valid requests and schema-invalid ones
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
        },
        # Every check schemathesis has is on (its default); none is switched off here.
        "checks": {"enabled": True},
        "operations": [
            # One filter naming the operation: separate include-method / include-path filters
            # would match any operation with that method OR that path.
            {"include-name": f"{method} {path}",
             "checks": {"positive_data_acceptance": {"expected-statuses": _ACCEPTED_FOR_VALID_INPUT}}}
            for method, path in UNDOCUMENTABLE_RULES
        ],
    })


@pytest.fixture(scope="module")
def api_stack(kafka_bootstrap, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The four APIs as processes, each on its own fresh PostgreSQL database: name -> base URL."""
    services = tuple(ServiceProcess(name, BASE_PORT + i) for i, name in enumerate(API_NAMES, start=1))
    databases = {name: _fresh_postgres_database() for name in API_NAMES}
    try:
        env = {f"TAC_{name.upper()}_DATABASE_URL": next(db) for name, db in databases.items()}
        stack = Stack(Path(tmp_path_factory.mktemp("conformance")), kafka_bootstrap=kafka_bootstrap,
                      services=services, extra_env=env, group_prefix=f"conformance-{uuid.uuid4().hex[:8]}")
        stack.start()
        try:
            stack.wait_until_ready()
            yield stack.urls
        finally:
            stack.stop()
    finally:
        for db in databases.values():
            db.close()


# A plausible caller for every API: Priya, a setting's SENCO; and, for the APIs a parent uses
# (their child's timeline, their own subscription and inbox), Ada, a mother with one child.
CALLERS = [*((name, PRIYA) for name in API_NAMES), ("timeline", ADA), ("notifications", ADA)]


@pytest.mark.parametrize(("name", "caller"), CALLERS, ids=[f"{n}-as-{p.key}" for n, p in CALLERS])
def test_api_answers_as_its_openapi_document_says(api_stack, name, caller):
    token = caller.token(children=(ADAS_CHILD,))  # a practitioner's token carries no children
    schema = schemathesis.openapi.from_url(f"{api_stack[name]}/openapi.json", config=conformance_config(token))
    documented = {operation.ok().label for operation in schema.get_all_operations()}

    report = conformance.run(schema)

    print(f"{name} as {caller.key}: {report.summary()}")
    assert not report.problems(), f"{name}: {report.summary()}\n{report.problems()}"
    assert report.operations == documented, f"operations never exercised: {documented - report.operations}"
