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


StorableText = Annotated[str, AfterValidator(storable)]
