"""The record a consumer publishes on `tac.deadletter.v1` for a message it cannot process.

It is not an event about a child and has no envelope: it carries the error, where the message
came from, and the original bytes and headers (base64), so an operator can inspect and replay it
(`tac deadletter list` / `tac deadletter replay`). The original bytes are what was on the bus,
so they hold no more personal detail than any event.

After a replay the tool appends a `DeadLetterReplayed` marker to the same topic (header
`tac-replay-of`), so the topic itself records which parked messages went back, and a second
replay of the same record is skipped without reading the source topics.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from schemas import topics
from schemas.envelope import Contract
from schemas.formats import Timestamp

MAX_REASON_CHARS = 8000
# The Kafka header that marks a message on the dead-letter topic as a DeadLetterReplayed marker
# (its value: "<partition>:<offset>" of the record it marks); a parked record has `reason` instead.
REPLAY_OF_HEADER = "tac-replay-of"
# On a message `tac deadletter replay` sent back to its source topic: "<dead-letter topic>:<partition>:
# <offset>" of the record it came from, so a message parked again after a replay says where it has been.
REPLAYED_FROM_HEADER = "tac-replayed-from"
_BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"


class OriginalHeader(Contract):
    """One Kafka header of the parked message, as it was (a binary-mode CloudEvent carries its
    attributes in headers, so without them the value alone could not be replayed)."""

    header: str = Field(min_length=1, max_length=256, description="The header's name")
    value_b64: str = Field(pattern=_BASE64, description="The header's value, base64; empty if it had none")


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
        pattern=_BASE64,
        description="The original message value, base64 (standard alphabet, padded); empty if it had none",
    )
    original_headers: tuple[OriginalHeader, ...] = Field(
        default=(), description="The original message's Kafka headers, in order; empty if it had none",
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
        headers: Sequence[tuple[str, bytes | None]] = (),
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
            original_headers=tuple(
                OriginalHeader(header=name, value_b64=base64.b64encode(raw or b"").decode("ascii")) for name, raw in headers
            ),
            failed_at=failed_at,
        )

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)

    @property
    def original_key(self) -> bytes | None:
        return None if self.key is None else self.key.encode("utf-8")

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """The original message's headers as Kafka pairs."""
        return [(h.header, base64.b64decode(h.value_b64)) for h in self.original_headers]

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class DeadLetterReplayed(Contract):
    """A marker `tac deadletter replay` appends to the dead-letter topic once it has re-produced a
    parked message to its source topic: which record went back, and where it landed."""

    TYPE: ClassVar[str] = "tac.deadletter.replayed.v1"
    TOPIC: ClassVar[topics.Topic] = topics.DEADLETTER

    record_partition: int = Field(ge=0, description="Partition of the replayed record on the dead-letter topic")
    record_offset: int = Field(ge=0, description="Offset of the replayed record on the dead-letter topic")
    to_topic: str = Field(min_length=1, max_length=249, description="Topic the original went back to")
    to_partition: int = Field(ge=0)
    to_offset: int = Field(ge=0)
    replayed_at: Timestamp

    @property
    def marks(self) -> tuple[int, int]:
        return (self.record_partition, self.record_offset)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()
