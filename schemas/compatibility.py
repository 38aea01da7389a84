"""The compatibility gate: a released `vN` event may grow, never break (DESIGN §2).

`schemas/released/` holds the JSON Schema of every released event type as it was released
(`python -m schemas.export --release` copies the current export there). `breaking_changes`
compares each released schema with the current one and names every change that a reader or a
writer built from the released contract would trip over:

  removed-type         a released event type is gone
  changed-category     the envelope's `category` differs (the consent decision reads it)
  changed-topic        the event travels on another topic (consumers would never see it)
  removed-field        a field is gone, or renamed (a rename is a removal plus an addition)
  new-required-field   a field that could be absent is now required (old writers fail)
  narrowed-type        a value of a type the released schema allowed is refused now
  narrowed-enum        a value the released enum or const allowed is refused now
  narrowed-bounds      a length, size or number bound is tighter, a pattern/format appears, or
                       a condition (anyOf, not, if/then, ...) beside a field's type is new

What stays compatible: a new optional field, a new event type, a widened type, enum or bound,
and any change to descriptions and titles. A breaking change is a new `vN` type instead.

Pure: it reads two mappings of JSON Schemas and returns sentences; the files are export.py's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]

# Where an exported event schema names its topic (schemas/json_schemas.py writes it).
TOPIC_KEY = "x-tac-topic"

# Bounds that a change may only loosen: (keyword, True when a larger value is looser).
_BOUNDS = (
    ("maxLength", True), ("maximum", True), ("exclusiveMaximum", True), ("maxItems", True),
    ("minLength", False), ("minimum", False), ("exclusiveMinimum", False), ("minItems", False),
)

# Conditions beside a node's own type (compared as a whole: any change counts as a narrowing).
_CONDITIONS = ("anyOf", "oneOf", "allOf", "not", "if", "then", "else")


@dataclass(frozen=True)
class BreakingChange:
    event_type: str
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.event_type}: {self.rule} at {self.where}: {self.detail}"


def breaking_changes(released: Mapping[str, Schema], current: Mapping[str, Schema]) -> list[BreakingChange]:
    """Every breaking change from the released schemas (by event type) to the current ones."""
    found: list[BreakingChange] = []
    for event_type, old in sorted(released.items()):
        new = current.get(event_type)
        if new is None:
            found.append(BreakingChange(event_type, "removed-type", "(type)", "the released type is no longer exported"))
            continue
        found += [BreakingChange(event_type, rule, where, detail) for rule, where, detail in _compare_envelopes(old, new)]
    return found


def _compare_envelopes(old: Schema, new: Schema) -> Iterator[tuple[str, str, str]]:
    old_category = old.get("properties", {}).get("category", {}).get("const")
    new_category = new.get("properties", {}).get("category", {}).get("const")
    if old_category != new_category:
        yield "changed-category", "category", f"{old_category!r} became {new_category!r}"
    if old.get(TOPIC_KEY) != new.get(TOPIC_KEY):
        yield "changed-topic", "(topic)", f"{old.get(TOPIC_KEY)!r} became {new.get(TOPIC_KEY)!r}"
    yield from _Comparison(old, new).compare(old, new, "")


@dataclass(frozen=True)
class _Comparison:
    old_root: Schema
    new_root: Schema

    def compare(self, old: Schema, new: Schema, where: str) -> Iterator[tuple[str, str, str]]:
        old, new = _resolve(self.old_root, old), _resolve(self.new_root, new)
        for old_alt in _alternatives(self.old_root, old):
            new_alt = _accepting_alternative(self.new_root, new, old_alt)
            if new_alt is None:
                yield "narrowed-type", where or "(envelope)", f"a {_kind(old_alt)} value is no longer accepted"
                continue
            yield from self._compare_values(old_alt, new_alt, where)

    def _compare_values(self, old: Schema, new: Schema, where: str) -> Iterator[tuple[str, str, str]]:
        place = where or "(envelope)"
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if old_values is None and new_values is not None:
            yield "narrowed-enum", place, f"any value was allowed, now only {sorted(map(str, new_values))}"
        elif old_values is not None and new_values is not None and not old_values <= new_values:
            yield "narrowed-enum", place, f"{sorted(map(str, old_values - new_values))} no longer allowed"
        for keyword, larger_is_looser in _BOUNDS:
            if keyword in new and (keyword not in old or (new[keyword] < old[keyword]) == larger_is_looser
                                   and new[keyword] != old[keyword]):
                yield "narrowed-bounds", place, f"{keyword} {old.get(keyword, 'none')} became {new[keyword]}"
        for keyword in ("pattern", "format"):
            if keyword in new and new.get(keyword) != old.get(keyword):
                yield "narrowed-bounds", place, f"{keyword} {old.get(keyword, 'none')!r} became {new[keyword]!r}"
        for keyword in _CONDITIONS:  # a new or changed condition may refuse what was accepted
            if keyword in new and new.get(keyword) != old.get(keyword):
                yield "narrowed-bounds", place, f"a condition ({keyword}) was added or changed"
        yield from self._compare_objects(old, new, where)
        if "items" in old and "items" in new:
            yield from self.compare(old["items"], new["items"], f"{where}[]")

    def _compare_objects(self, old: Schema, new: Schema, where: str) -> Iterator[tuple[str, str, str]]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        for name, old_prop in old_props.items():
            path = f"{where}.{name}" if where else name
            if name not in new_props:
                yield "removed-field", path, "removed or renamed"
            else:
                yield from self.compare(old_prop, new_props[name], path)
        for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
            path = f"{where}.{name}" if where else name
            yield "new-required-field", path, "required now, optional or absent when released"


def _resolve(root: Schema, node: Schema) -> Schema:
    seen = 0
    while "$ref" in node and seen < 32:  # a chain of refs, never a cycle in pydantic's output
        name = node["$ref"].removeprefix("#/$defs/")
        siblings = {k: v for k, v in node.items() if k != "$ref"}  # 2020-12: they apply too
        node = {**root.get("$defs", {})[name], **siblings}
        seen += 1
    return node


def _alternatives(root: Schema, node: Schema) -> list[Schema]:
    if "type" in node or "properties" in node:
        # An anyOf beside the node's own type is a further condition on it, not a choice of
        # types: the node is compared as itself.
        return [node]
    for keyword in ("anyOf", "oneOf"):
        if keyword in node:
            return [alt for option in node[keyword] for alt in _alternatives(root, _resolve(root, option))]
    return [node]


def _kind(node: Schema) -> str:
    if "type" in node:
        return str(node["type"])
    if "properties" in node:
        return "object"
    return "any"


def _accepting_alternative(root: Schema, node: Schema, old_alt: Schema) -> Schema | None:
    kind = _kind(old_alt)
    candidates = _alternatives(root, node)
    for candidate in candidates:
        if _kind(candidate) in (kind, "any"):
            return candidate
    if kind == "integer":  # an integer is also a number
        return next((c for c in candidates if _kind(c) == "number"), None)
    return None


def _allowed_values(node: Schema) -> frozenset[Any] | None:
    if "const" in node:
        return frozenset([node["const"]])
    if "enum" in node:
        return frozenset(node["enum"])
    return None
