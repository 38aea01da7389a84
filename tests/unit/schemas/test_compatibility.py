"""The compatibility gate (schemas/compatibility.py): each kind of breaking change to a released
schema is caught and named; additive changes pass; the real tree passes."""

from __future__ import annotations

import copy

import pytest

from schemas import export
from schemas.compatibility import TOPIC_KEY, breaking_changes
from schemas.json_schemas import json_schemas

MADE = "tac.referrals.referral_made.v1"
GRANTED = "tac.consent.consent_granted.v1"


@pytest.fixture(scope="module")
def released():
    return export.released()


def _current(released, event_type, change):
    current = copy.deepcopy(dict(released))
    change(current[event_type])
    return current


def _data(schema):
    name = schema["properties"]["data"]["$ref"].removeprefix("#/$defs/")
    return schema["$defs"][name]


def _rules(released, current):
    return [(c.event_type, c.rule, c.where) for c in breaking_changes(released, current)]


def test_the_tree_passes_the_gate_and_every_exported_schema_is_released(released):
    assert export.gate() == []
    assert set(json_schemas()) <= set(released)


def test_the_released_schemas_are_the_exported_ones_so_nothing_is_unreleased_by_accident(released):
    assert released == json_schemas()


def _remove_reason(schema):
    del _data(schema)["properties"]["reason"]


def _rename_reason(schema):
    props = _data(schema)["properties"]
    props["why"] = props.pop("reason")


def _require_new_field(schema):
    data = _data(schema)
    data["properties"]["urgency"] = {"type": "string"}
    data["required"].append("urgency")


def _require_optional_field(schema):
    schema["required"].append("causationid")


def _narrow_type(schema):
    schema["properties"]["causationid"] = {"type": "string", "minLength": 1, "maxLength": 128}


def _narrow_enum(schema):
    schema["$defs"]["Agency"]["enum"].remove("slt_service")


def _change_category(schema):
    schema["properties"]["category"]["const"] = "health"


def _change_topic(schema):
    schema[TOPIC_KEY] = "tac.consent.v1"


def _tighten_length(schema):
    schema["properties"]["correlationid"]["maxLength"] = 64


def _add_pattern(schema):
    schema["properties"]["source"]["pattern"] = "^/tac/"


def _forbid_a_value_beside_a_ref(schema):
    schema["properties"]["actoragency"]["not"] = {"const": "parent"}


def _add_a_condition(schema):
    _data(schema)["anyOf"] = [{"required": ["reason"]}]


@pytest.mark.parametrize(("change", "rule", "where"), [
    (_remove_reason, "removed-field", "data.reason"),
    (_rename_reason, "removed-field", "data.reason"),
    (_require_new_field, "new-required-field", "data.urgency"),
    (_require_optional_field, "new-required-field", "causationid"),
    (_narrow_type, "narrowed-type", "causationid"),
    (_narrow_enum, "narrowed-enum", "actoragency"),
    (_change_category, "changed-category", "category"),
    (_change_topic, "changed-topic", "(topic)"),
    (_tighten_length, "narrowed-bounds", "correlationid"),
    (_add_pattern, "narrowed-bounds", "source"),
    (_forbid_a_value_beside_a_ref, "narrowed-bounds", "actoragency"),
    (_add_a_condition, "narrowed-bounds", "data"),
])
def test_each_kind_of_breaking_change_fails_the_gate_naming_its_rule(released, change, rule, where):
    event_type = "tac.referrals.referral_declined.v1"
    assert (event_type, rule, where) in _rules(released, _current(released, event_type, change))


def test_a_removed_type_fails_the_gate(released):
    current = dict(released)
    del current[MADE]
    assert _rules(released, current) == [(MADE, "removed-type", "(type)")]


def _add_optional_field(schema):
    _data(schema)["properties"]["urgency"] = {"type": "string"}


def _widen_enum(schema):
    schema["$defs"]["Agency"]["enum"].append("independent_provider")


def _loosen_length(schema):
    schema["properties"]["correlationid"]["maxLength"] = 256


def _describe(schema):
    _data(schema)["description"] = "reworded"


@pytest.mark.parametrize("change", [_add_optional_field, _widen_enum, _loosen_length, _describe])
def test_additive_changes_pass(released, change):
    assert _rules(released, _current(released, GRANTED, change)) == []


def test_a_new_event_type_passes(released):
    current = dict(released)
    current["tac.referrals.something_new.v1"] = copy.deepcopy(released[MADE])
    assert _rules(released, current) == []


def test_make_schemas_fails_and_names_the_rule_when_a_released_schema_broke(tmp_path, monkeypatch, capsys):
    # Simulates "add a required field to ReferralMade v1 and re-export": the released copy
    # lacks the field the current export requires.
    (tmp_path / export.RELEASED_DIR).mkdir()
    for name, schema in json_schemas().items():
        if name == MADE:
            schema = copy.deepcopy(schema)
            _data(schema)["required"].remove("reason")
        (tmp_path / export.RELEASED_DIR / f"{name}.json").write_text(export.dump_json(schema), encoding="utf-8")
    monkeypatch.setattr(export, "SCHEMAS_DIR", tmp_path)
    assert export.main(["--check"]) == 1
    assert f"{MADE}: new-required-field at data.reason" in capsys.readouterr().err
