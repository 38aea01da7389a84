"""The record a consumer publishes on `tac.deadletter.v1` for a message it cannot process.

It is not an event about a child and has no envelope: it carries the error, where the message
came from, and the original bytes (base64), so an operator can inspect and replay it. The
original bytes are what was on the bus, so they hold no more personal detail than any event.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from schemas import topics
from schemas.envelope import Contract
from schemas.formats import Timestamp

MAX_REASON_CHARS = 8000


class DeadLetterRecord(Contract):
    """A message that could not be processed, with the error and the original bytes."""

    TYPE: ClassVar[str] = "tac.deadletter.record.v1"
    TOPIC: ClassVar[topics.Topic] = topics.DEADLETTER

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, description="Why the message could not be processed")
    source_topic: str = Field(min_length=1, max_length=249, description="Topic the message was read from")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    consumer: str = Field(min_length=1, max_length=128, description="Consumer group (or consumer name) that gave up")
    key: str | None = Field(description="The original message's key as UTF-8 text; null if it had none")
    original_b64: str = Field(
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="The original message value, base64 (standard alphabet, padded); empty if it had none",
    )
    failed_at: Timestamp

    @classmethod
    def for_message(
        cls,
        *,
        reason: str,
        source_topic: str,
        partition: int,
        offset: int,
        consumer: str,
        key: bytes | None,
        value: bytes | None,
        failed_at: datetime,
    ) -> "DeadLetterRecord":
        """Build the record from a raw Kafka message (bytes key and value)."""
        reason = reason.strip() or "unknown error"
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        return cls(
            reason=reason,
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            consumer=consumer,
            key=None if key is None else key.decode("utf-8", errors="backslashreplace"),
            original_b64=base64.b64encode(value or b"").decode("ascii"),
            failed_at=failed_at,
        )

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()
