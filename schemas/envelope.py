"""The CloudEvents 1.0 style envelope (structured JSON mode) that carries every TAC event.

`subject` is the child's pseudonymous id and also the Kafka key, so one child's events stay
in order. Personal details (name, address, date of birth) never travel on the bus.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.formats import Timestamp, Uuid
from schemas.topics import Topic
from schemas.vocabulary import Agency


class Contract(BaseModel):
    """Base of every contract: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Contract):
    """Who did it: a practitioner acting for exactly one organisation, or a parent."""

    practitioner_id: str = Field(min_length=1, max_length=128, description="Practitioner id, or the parent's person id")
    organisation_id: str | None = Field(default=None, min_length=1, max_length=128)
    agency: Agency
    role: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _organisation_unless_parent(self) -> "Actor":
        if self.agency is Agency.PARENT:
            if self.organisation_id is not None:
                raise ValueError("a parent acts for no organisation: organisation_id must be null")
        elif self.organisation_id is None:
            raise ValueError("organisation_id is required for a practitioner")
        return self


class Event(Contract):
    """Base of every event payload (the envelope's `data`). Subclasses name a fact in the past
    tense and declare where it travels."""

    TYPE: ClassVar[str]
    CATEGORY: ClassVar[str]
    TOPIC: ClassVar[Topic]


class EnvelopeBase(Contract):
    specversion: Literal["1.0"] = "1.0"
    id: Uuid = Field(description="Unique event id; the idempotency key for every consumer")
    source: str = Field(min_length=1, max_length=128, description="Producing service, e.g. /tac/referrals")
    subject: Uuid = Field(description="The child's pseudonymous id; also the Kafka key")
    time: Timestamp
    datacontenttype: Literal["application/json"] = "application/json"
    actor: Actor
    correlationid: str = Field(min_length=1, max_length=128)
    causationid: str | None = Field(default=None, min_length=1, max_length=128)

    # Filled in by the concrete per-type envelopes in schemas.catalogue.
    type: str
    category: str
    data: Any

    @property
    def key(self) -> bytes:
        return str(self.subject).encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def new_event_id() -> UUID:
    return uuid4()
