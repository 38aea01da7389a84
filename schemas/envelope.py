"""The CloudEvents 1.0 envelope (structured JSON mode) that carries every TAC event.

`subject` is the child's pseudonymous id and also the Kafka key, so one child's events stay
in order. Personal details (name, address, date of birth) never travel on the bus.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar, Literal
from uuid import UUID

from uuid_utils.compat import uuid7

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.formats import Timestamp, Uri, UriReference, Uuid
from schemas.topics import Topic
from schemas.vocabulary import Agency


# How a reader validates (what consumers do): see Contract.
READING_EXTRA = "ignore"


class Contract(BaseModel):
    """Base of every contract: immutable. Strict writer, tolerant reader: a model built or
    validated plainly refuses unknown fields, so TAC never writes one; validated with
    `extra=READING_EXTRA` (pydantic's per-call override of the models' `extra`, nested models
    included: what consumers do), it drops the fields it does not know, so an event from a
    producer a minor version ahead (a new optional field) is read rather than dead-lettered.

    No before-validator does this (nor anything else on the path of a consumed event): one
    makes pydantic build the whole input as Python objects before validating it. Without the
    two the envelopes had, parsing a batch takes 37 us an event against 52 (bench/results/
    ingest-stages-2026-12-02-extra-ignore-sqlite.md, -baseline-4a20487-sqlite.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def organisation_rule_broken(agency: Agency, organisation_id: str | None) -> str | None:
    """Why an actor's organisation does not fit its agency (a parent acts for none, a
    practitioner for exactly one), or None."""
    if agency is Agency.PARENT:
        return "a parent acts for no organisation: organisation_id must be null" if organisation_id is not None else None
    return "organisation_id is required for a practitioner" if organisation_id is None else None


class Actor(Contract):
    """Who did it: a practitioner acting for exactly one organisation, or a parent."""

    practitioner_id: str = Field(min_length=1, max_length=128, description="Practitioner id, or the parent's person id")
    organisation_id: str | None = Field(default=None, min_length=1, max_length=128)
    agency: Agency
    role: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _organisation_unless_parent(self) -> "Actor":
        broken = organisation_rule_broken(self.agency, self.organisation_id)
        if broken:
            raise ValueError(broken)
        return self


class Event(Contract):
    """Base of every event payload (the envelope's `data`). Subclasses name a fact in the past
    tense and declare where it travels."""

    TYPE: ClassVar[str]
    CATEGORY: ClassVar[str]
    TOPIC: ClassVar[Topic]


# The actor travels as four primitive CloudEvents extension attributes (an attribute may not be an
# object: CloudEvents 1.0 §3.1 type system), named within the spec's 20-character advice.
ACTOR_ATTRIBUTES = {
    "practitioner_id": "actorpractitionerid",
    "organisation_id": "actororganisationid",
    "agency": "actoragency",
    "role": "actorrole",
}


def actor_attributes(actor: Any) -> dict[str, Any]:
    """An actor's fields (a dict, as an envelope stored before the actor became attributes
    nests them under "actor") as the envelope's four attributes; anything else is left out."""
    if not isinstance(actor, dict):
        return {}
    return {ACTOR_ATTRIBUTES[k]: v for k, v in actor.items() if k in ACTOR_ATTRIBUTES}


def _envelope_schema(schema: dict[str, Any]) -> None:
    # The actor rule (Actor._organisation_unless_parent) in the published schema as well.
    schema["required"] = ["specversion", *[f for f in schema.get("required", []) if f != "specversion"]]
    schema["if"] = {"properties": {"actoragency": {"const": Agency.PARENT.value}}, "required": ["actoragency"]}
    schema["then"] = {"properties": {"actororganisationid": {"type": "null"}}}
    schema["else"] = {"required": ["actororganisationid"], "properties": {"actororganisationid": {"type": "string"}}}


class EnvelopeBase(Contract):
    """A CloudEvents 1.0 event in structured JSON mode (the Kafka message value, with the header
    `content-type: application/cloudevents+json`). Besides the context attributes of the spec it
    carries the extension attributes `category` (what the consent decision filters on), the
    actor's four `actor*` attributes, `correlationid` and `causationid`."""

    model_config = ConfigDict(json_schema_extra=_envelope_schema)

    specversion: Literal["1.0"]
    id: Uuid = Field(description="Unique event id; the idempotency key for every consumer")
    source: UriReference = Field(min_length=1, max_length=128, json_schema_extra={"format": "uri-reference"},
                        description="Producing service as a URI-reference, e.g. /tac/referrals")
    subject: Uuid = Field(description="The child's pseudonymous id; also the Kafka key")
    time: Timestamp
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: Uri | None = Field(default=None, max_length=256, json_schema_extra={"format": "uri"},
                                   description="The published JSON Schema of this event type (urn:tac:jsonschema:<type>)")
    actorpractitionerid: str = Field(min_length=1, max_length=128,
                                     description="Who did it: the practitioner id, or the parent's person id")
    actororganisationid: str | None = Field(default=None, min_length=1, max_length=128,
                                            description="The organisation they acted for; null for a parent")
    actoragency: Agency
    actorrole: str = Field(min_length=1, max_length=64)
    correlationid: str = Field(min_length=1, max_length=128)
    causationid: str | None = Field(default=None, min_length=1, max_length=128)

    # Filled in by the concrete per-type envelopes in schemas.catalogue.
    type: str
    category: str
    data: Any

    @model_validator(mode="after")
    def _actor_is_valid(self) -> "EnvelopeBase":
        # The actor attributes carry Actor's own field constraints; only its organisation rule
        # is left to check (building an Actor for it was a fifth of parsing an event).
        broken = organisation_rule_broken(self.actoragency, self.actororganisationid)
        if broken:
            raise ValueError(broken)
        return self

    @property
    def actor(self) -> Actor:
        return Actor(practitioner_id=self.actorpractitionerid, organisation_id=self.actororganisationid,
                     agency=self.actoragency, role=self.actorrole)

    @property
    def key(self) -> bytes:
        return str(self.subject).encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def new_event_id() -> UUID:
    """A new event's id: a UUIDv7 (RFC 9562 §5.7), whose first 48 bits are the Unix time in
    milliseconds. Ids made later sort later, so each store's indexes keyed by event id (the
    processed events', the timeline's entries', the outboxes') grow at one edge instead of
    dirtying a page anywhere in the tree for every event (RFC 9562 §6.2, "DBMS and database
    considerations"). With random (v4) ids, committing a batch into the timeline's SQLite store
    cost twice as much at 150,000 events (bench/results/sqlite-growth-*-event-ids.md).

    The time it carries is the envelope's own `time`, already in every event, so it tells a
    reader of the id nothing new. Ids of people, children and organisations stay random."""
    return uuid7()
