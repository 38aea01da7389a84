"""Schema and parser agree on every wire format (issue: one source of truth for the rules).

The same JSON, with one value changed, is offered to the exported JSON Schema (with the format
checkers really checking `date-time`, `date`, `uuid`, `uri` and `uri-reference`) and to the
Python parser: each input is accepted by both or refused by both. The one exception is a rule
across two fields, which JSON Schema cannot state: the parser refuses what breaks it, and the
published contracts (schema description, AsyncAPI message and info) name it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from schemas.asyncapi_document import UNSTATED_RULE_MARK
from schemas.catalogue import EVENT_CLASSES, EVENT_TYPES, InvalidEvent, make_envelope, parse_event

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


def test_the_format_checker_really_checks_uri_and_uri_reference():
    checker = FormatChecker()
    for fmt, bad in (("uri-reference", "a b"), ("uri", "relative/path")):
        assert fmt in checker.checkers, f"{fmt} is not checked: a format library is missing"
        assert not checker.conforms(bad, fmt)


def _agree(validator: Draft202012Validator, instance: dict, valid: bool) -> None:
    assert validator.is_valid(instance) is valid, "the schema"
    assert _parser_accepts(instance) is valid, "the parser"


ENVELOPE = [
    (("source",), "/tac/referrals", True),
    (("source",), "urn:tac:referrals", True),
    (("source",), "https://tac.example/referrals", True),
    (("source",), "a b", False),
    (("source",), "http://[bad", False),
    (("source",), "", False),
    (("dataschema",), "urn:tac:jsonschema:tac.referrals.integrated_review_scheduled.v1", True),
    (("dataschema",), None, True),
    (("dataschema",), "relative/path", False),
    (("specversion",), "1.0", True),
    (("specversion",), "0.3", False),
    (("specversion",), 1.0, False),
    (("datacontenttype",), "text/plain", False),
    (("category",), "ehc", False),
    (("type",), "tac.referrals.integrated_review_completed.v1", False),
    (("subject",), None, False),
    (("surname",), "Smith", False),
    (("data", "surname"), "Smith", False),
]


@pytest.mark.parametrize(("path", "value", "valid"), ENVELOPE, ids=[f"{'.'.join(p)}={v!r}" for p, v, _ in ENVELOPE])
def test_schema_and_parser_agree_on_the_envelope_attributes(base, validator, path, value, valid):
    _agree(validator, _set(base, path, value), valid)


ACTORS = [
    ({"actoragency": "parent", "actororganisationid": None, "actorrole": "parent"}, True),
    ({"actoragency": "parent", "actororganisationid": "org-1", "actorrole": "parent"}, False),
    ({"actoragency": "setting", "actororganisationid": None}, False),
    ({"actoragency": "setting", "actororganisationid": "org-1"}, True),
    ({"actoragency": "childminder"}, False),
    ({"actorpractitionerid": ""}, False),
]


@pytest.mark.parametrize(("attributes", "valid"), ACTORS, ids=[repr(a) for a, _ in ACTORS])
def test_schema_and_parser_agree_on_who_may_act_for_an_organisation(base, validator, attributes, valid):
    instance = {**base, **attributes}
    if attributes.get("actororganisationid", "") is None:
        instance["actororganisationid"] = None
    _agree(validator, instance, valid)


# Rules across two fields, which JSON Schema cannot state: the schema accepts what breaks them, the
# parser refuses it, and the exported schema's description and the AsyncAPI message say so.
SAFEGUARDING = "tac.consent.safeguarding_access_granted.v1"
DRAFT_PLAN = "tac.referrals.ehc_draft_plan_issued.v1"
UNSTATED = [
    (GRANTED, {"valid_from": "2025-03-03T09:30:00Z", "expires_at": "2025-03-03T09:30:00Z"}, "`expires_at` is after `valid_from`"),
    (GRANTED, {"valid_from": "2025-03-03T09:30:00Z", "expires_at": "2025-03-02T09:30:00Z"}, "`expires_at` is after `valid_from`"),
    (SAFEGUARDING, {"granted_at": "2025-03-03T09:30:00Z", "expires_at": "2025-03-06T09:30:01Z"}, "at most 72 hours later"),
    (SAFEGUARDING, {"granted_at": "2025-03-03T09:30:00Z", "expires_at": "2025-03-03T09:30:00Z"},
     "`expires_at` is after `granted_at`"),
    (DRAFT_PLAN, {"issued_on": "2025-03-03", "comments_due_on": "2025-03-17"}, "at least 15 days after `issued_on`"),
]
WITHIN = [
    (GRANTED, {"valid_from": "2025-03-03T09:30:00Z", "expires_at": "2025-03-03T09:30:01Z"}),
    (SAFEGUARDING, {"granted_at": "2025-03-03T09:30:00Z", "expires_at": "2025-03-06T09:30:00Z"}),
    (DRAFT_PLAN, {"issued_on": "2025-03-03", "comments_due_on": "2025-03-18"}),
]


def _instance(examples, practitioner, child_id, event_type: str, data: dict) -> dict:
    envelope = make_envelope(examples[event_type], subject=child_id, actor=practitioner, source="/tac/test")
    instance = json.loads(envelope.to_json_bytes())
    instance["data"].update(data)
    return instance


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("event_type", "data", "rule"), UNSTATED, ids=[f"{t.split('.')[2]}:{d}" for t, d, _ in UNSTATED])
def test_a_rule_the_schema_cannot_state_is_refused_by_the_parser_and_named_in_the_published_contracts(
    examples, practitioner, child_id, event_type, data, rule
):
    instance = _instance(examples, practitioner, child_id, event_type, data)
    schema = json.loads((SCHEMAS / f"{event_type}.json").read_text(encoding="utf-8"))
    assert Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(instance), "JSON Schema cannot state it"
    assert not _parser_accepts(instance)
    assert rule in _words(schema["description"]) and UNSTATED_RULE_MARK in _words(schema["description"])
    asyncapi = yaml.safe_load((SCHEMAS.parent / "asyncapi.yaml").read_text(encoding="utf-8"))
    message = asyncapi["components"]["messages"][EVENT_TYPES[event_type].__name__]
    assert rule in _words(message["description"])
    assert EVENT_TYPES[event_type].__name__ in _words(asyncapi["info"]["description"])


@pytest.mark.parametrize(("event_type", "data"), WITHIN, ids=[t.split(".")[2] for t, _ in WITHIN])
def test_the_boundary_of_a_rule_the_schema_cannot_state_is_accepted_by_both(examples, practitioner, child_id,
                                                                           event_type, data):
    instance = _instance(examples, practitioner, child_id, event_type, data)
    schema = json.loads((SCHEMAS / f"{event_type}.json").read_text(encoding="utf-8"))
    _agree(Draft202012Validator(schema, format_checker=FormatChecker()), instance, True)


def test_every_event_with_a_rule_of_its_own_says_in_its_description_that_json_schema_cannot_state_it():
    """A new cross-field validator must be documented where other producers read the contract."""
    with_rules = {
        cls.__name__ for cls in EVENT_CLASSES
        if any(d.info.mode == "after" for d in cls.__pydantic_decorators__.model_validators.values())
    }
    assert with_rules >= {"ConsentGranted", "SafeguardingAccessGranted", "EHCDraftPlanIssued"}
    undocumented = [name for name in sorted(with_rules)
                    if UNSTATED_RULE_MARK not in _words(next(c for c in EVENT_CLASSES if c.__name__ == name).__doc__ or "")]
    assert not undocumented, f"say which rule JSON Schema cannot state in the docstring of {undocumented}"
