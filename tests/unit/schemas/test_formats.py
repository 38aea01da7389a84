"""Schema and parser agree on every wire format (issue: one source of truth for the rules).

The same JSON, with one value changed, is offered to the exported JSON Schema (with the format
checkers really checking `date-time`, `date` and `uuid`) and to the Python parser: each input is
accepted by both or refused by both.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from schemas.catalogue import InvalidEvent, make_envelope, parse_event

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "jsonschema"
SCHEDULED = "tac.referrals.integrated_review_scheduled.v1"


def test_the_format_checker_really_checks_date_time_date_and_uuid():
    checker = FormatChecker()
    for fmt, bad in (("date-time", "2026-12-01 09:30:00Z"), ("date", "2026-02-30"), ("uuid", "0" * 32)):
        assert fmt in checker.checkers, f"{fmt} is not checked: a format library is missing"
        assert not checker.conforms(bad, fmt)


@pytest.fixture
def base(examples, practitioner, child_id) -> dict:
    envelope = make_envelope(examples[SCHEDULED], subject=child_id, actor=practitioner, source="/tac/test")
    return json.loads(envelope.to_json_bytes())


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{SCHEDULED}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _parser_accepts(instance: dict) -> bool:
    try:
        parse_event(json.dumps(instance))
    except InvalidEvent:
        return False
    return True


def _set(instance: dict, path: tuple[str, ...], value) -> dict:
    changed = copy.deepcopy(instance)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


TIMES = [
    ("2026-12-01T09:30:00Z", True),
    ("2026-12-01T09:30:00+01:00", True),
    ("2026-12-01T09:30:00.123456-05:30", True),
    ("2026-12-01t09:30:00z", True),
    ("2026-12-01 09:30:00Z", False),
    ("2026-12-01T09:30:00", False),
    ("2026-12-01T24:00:00Z", False),
    ("2026-13-01T09:30:00Z", False),
    ("2026-02-30T09:30:00Z", False),
    ("2026-12-01", False),
    (1764581400, False),
    (1764581400.5, False),
]
UUIDS = [
    ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
    ("0F8FAD5B-D9CB-469F-A165-70867728950E", True),
    ("0f8fad5bd9cb469fa16570867728950e", False),
    ("{0f8fad5b-d9cb-469f-a165-70867728950e}", False),
    ("urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", False),
    ("0f8fad5b-d9cb-469f-a165-70867728950", False),
    (20867728950, False),
]
DAYS = [
    ("2026-12-01", True),
    ("2026-02-30", False),
    ("2026-12-1", False),
    ("20261201", False),
    ("2026-12-01T00:00:00Z", False),
    (20261201, False),
]
CASES = (
    [(("time",), value, ok) for value, ok in TIMES]
    + [(("id",), value, ok) for value, ok in UUIDS]
    + [(("subject",), value, ok) for value, ok in UUIDS]
    + [(("data", "scheduled_for"), value, ok) for value, ok in DAYS]
)


@pytest.mark.parametrize(("path", "value", "valid"), CASES, ids=[f"{'.'.join(p)}={v!r}" for p, v, _ in CASES])
def test_schema_and_parser_accept_and_refuse_the_same_inputs(base, validator, path, value, valid):
    instance = _set(base, path, value)
    assert validator.is_valid(instance) is valid
    assert _parser_accepts(instance) is valid


GRANTED = "tac.consent.consent_granted.v1"
RULES = [
    (("data", "given_by", "has_parental_responsibility"), True, True),
    (("data", "given_by", "has_parental_responsibility"), False, False),
    (("data", "recipients"), {"organisation_ids": [], "agencies": []}, False),
    (("data", "recipients"), {}, False),
    (("data", "recipients"), {"agencies": ["parent"]}, False),
    (("data", "recipients"), {"agencies": ["area_senco", "parent"]}, False),
    (("data", "recipients"), {"agencies": ["area_senco"]}, True),
    (("data", "recipients"), {"organisation_ids": ["LA-WESTSHIRE-SEN"]}, True),
]


@pytest.mark.parametrize(("path", "value", "valid"), RULES, ids=[f"{'.'.join(p)}={v!r}" for p, v, _ in RULES])
def test_schema_and_parser_agree_on_the_consent_rules_the_schema_can_state(examples, practitioner, child_id,
                                                                             path, value, valid):
    envelope = make_envelope(examples[GRANTED], subject=child_id, actor=practitioner, source="/tac/test")
    instance = _set(json.loads(envelope.to_json_bytes()), path, value)
    schema = json.loads((SCHEMAS / f"{GRANTED}.json").read_text(encoding="utf-8"))
    assert Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(instance) is valid
    assert _parser_accepts(instance) is valid
