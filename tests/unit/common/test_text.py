"""StorableText's published pattern says exactly what its validator refuses, so a client reading
the OpenAPI document (or schemathesis) and the service agree on every string."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from services.common.text import NON_BLANK_PATTERN, STORABLE_PATTERN, NonBlankText, StorableText, storable

# Every control character, the edges of the surrogate block, and a few ordinary characters.
CODE_POINTS = [*range(0x00, 0x80), 0xD7FF, 0xE000, 0xA0, 0xFFFE, 0x10FFFF]


def _storable(ch: str) -> bool:
    try:
        storable(ch)
    except ValueError:
        return False
    return True


def test_the_pattern_accepts_a_character_exactly_when_the_validator_does():
    disagree = [hex(cp) for cp in CODE_POINTS
                if bool(re.fullmatch(STORABLE_PATTERN, f"a{chr(cp)}b")) != _storable(chr(cp))]
    assert not disagree
    assert not _storable("\x00") and _storable("\t")  # the comparison is not vacuous


def test_a_lone_surrogate_is_refused_though_no_json_encoder_sends_one():
    assert not _storable("\ud800") and not _storable("\udfff")


def test_the_pattern_is_in_the_json_schema_beside_the_field_bounds():
    class Note(BaseModel):
        text: StorableText = Field(min_length=1, max_length=10)
        extra: StorableText | None = None

    schema = Note.model_json_schema()["properties"]
    assert schema["text"] == {"type": "string", "minLength": 1, "maxLength": 10, "pattern": STORABLE_PATTERN,
                              "title": "Text"}
    assert {"type": "string", "pattern": STORABLE_PATTERN} in schema["extra"]["anyOf"]


@pytest.mark.parametrize("value", ["x", "  no room  ", "a\tb", " \u00e9"])
def test_non_blank_text_is_accepted_as_its_pattern_says_and_stored_trimmed(value):
    class Reason(BaseModel):
        reason: NonBlankText = Field(min_length=1, max_length=20)

    assert re.fullmatch(NON_BLANK_PATTERN, value)
    assert Reason(reason=value).reason == value.strip()


@pytest.mark.parametrize("value", [" ", "\t\n", "\u00a0", "x\x01"])
def test_blank_text_is_refused_as_its_pattern_says(value):
    class Reason(BaseModel):
        reason: NonBlankText = Field(min_length=1, max_length=20)

    assert not re.fullmatch(NON_BLANK_PATTERN, value)
    with pytest.raises(ValidationError):
        Reason(reason=value)
