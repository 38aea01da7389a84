"""Text that every store can hold: PostgreSQL refuses NUL in text, and UTF-8 cannot encode a
lone surrogate. Request bodies use `StorableText` so such input is a 422 naming the field,
never a database error (a 500) — and never reaches the bus through SQLite, which accepts it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    for ch in value:
        code = ord(ch)
        if code == 0 or 0xD800 <= code <= 0xDFFF or (code < 32 and ch not in "\t\n\r"):
            raise ValueError("contains a control character or an invalid code point")
    return value


# The same rule, said in the OpenAPI document, so a client (or schemathesis) knows in advance what
# `storable` refuses: a JSON Schema pattern is read by both ECMA-262 and Python's `re`. Lone
# surrogates are left out of it: they are not Unicode text (RFC 8259 §8.2), no conforming JSON
# encoder sends one, and a class naming the surrogate block makes generators (schemathesis's
# among them) ignore the whole pattern.
STORABLE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*$"


class PublishedPattern:
    """Puts `pattern` in a string field's JSON Schema (beside its length bounds), without making
    pydantic enforce it: a validator does that, in Python's `re`."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["pattern"] = self.pattern
        return schema


StorableText = Annotated[str, AfterValidator(storable), PublishedPattern(STORABLE_PATTERN)]

# Free text a person types, checked as sent (so the published bounds and pattern are the whole
# rule) and stored without the spaces around it. NonBlankText also needs one character that is
# neither a space nor a control character: a summary of spaces says nothing.
NON_BLANK_PATTERN = (r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*[^\s\u0000-\u001f]"
                     r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*$")


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is blank")
    return value


TrimmedText = Annotated[str, AfterValidator(storable), AfterValidator(str.strip), PublishedPattern(STORABLE_PATTERN)]
NonBlankText = Annotated[str, AfterValidator(storable), AfterValidator(not_blank), AfterValidator(str.strip),
                         PublishedPattern(NON_BLANK_PATTERN)]
