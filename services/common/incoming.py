"""What a raw message is, before anything is applied: parse it, check it belongs on its topic,
and say why not (poison) and which children it must hold (consent_policy.holds); and the check
of a consumer's subscriptions when it is built.

The consumer pipeline (services.common.pipeline) applies what `parse_batch` found valid and
parks its poison: a tolerant reader (issue 14), unknown fields are dropped, and an event of a
type this build does not know is valid (its generic envelope), for the handler table to store
or skip (services.common.messagebus). A message that can never be parsed is poison; when it may
have restricted access (anything on the consent topic, a team event on the referrals topic) it
carries holds, so the service's consent-based access for that child fails closed until a person
releases it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from consent_policy.holds import MALFORMED, Hold, held_children, readable_type, restricts_access
from schemas.catalogue import InvalidEvent, UnknownEventType, topic_of
from schemas.envelope import EnvelopeBase, now_utc
from schemas.kafka_binding import parse_kafka_message
from schemas.topics import CONSENT, REFERRALS, Topic
from services.common.messagebus import unknown_type_problem


@dataclass(frozen=True)
class Incoming:
    """One raw message as consumed, with where it came from (for the dead-letter record)."""

    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    # The contract topic this subscription carries (the topic's name may differ, in tests):
    # an event of another topic's contract is refused. None: not checked.
    source: Topic | None = None
    # The Kafka headers: a binary-mode CloudEvent (schemas.kafka_binding) carries its attributes there.
    headers: tuple[tuple[str, bytes], ...] = ()


def misrouted_reason(source: Topic, event_type: str) -> str | None:
    """Why an otherwise valid event does not belong on the topic it came from, or None.

    A valid event on the wrong topic (a consent fact on the referrals topic, TimelineViewed on
    tac.referrals.v1) did not come from the service that owns it: applying it could grant
    access nobody gave, so it goes to the dead-letter topic rather than being applied."""
    belongs = topic_of(event_type)
    if belongs.name == source.name:
        return None
    short = source.name.split(".")[1] if source.name.count(".") >= 2 else source.name
    return f"event type {event_type} belongs on {belongs.name}: it does not belong on the {short} topic"


@dataclass(frozen=True)
class Poison:
    """A message to park, with why; `holds` when parking it must also hold children (it may have
    restricted access: consent_policy.holds)."""

    message: Incoming
    reason: str
    holds: tuple[Hold, ...] = ()


@dataclass
class Parsed:
    valid: list[tuple[Incoming, EnvelopeBase]] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)


def parse_batch(messages: Sequence[Incoming]) -> Parsed:
    """Validate raw bytes with the pydantic contracts, as a tolerant reader of structured- or
    binary-mode CloudEvents (schemas.kafka_binding). A well-formed event of a type this build does
    not know is valid (its generic envelope: what every event carries), accepted on the topic it
    came from since its topic cannot be checked; what cannot be parsed or is misrouted becomes
    Poison with a reason a person can act on, and a hold when it may have restricted access."""
    parsed = Parsed()
    for message in messages:
        if not message.value:
            parsed.poison.append(malformed(message, "empty message value"))
            continue
        try:
            envelope = parse_kafka_message(message.value, message.headers)
        except UnknownEventType as exc:
            problem = unknown_type_problem(exc.envelope.type, message.source)
            if problem is None:
                parsed.valid.append((message, exc.envelope))
            else:  # not a newer producer's event: malformed (and held, on the consent topic)
                parsed.poison.append(malformed(message, problem))
            continue
        except InvalidEvent as exc:
            parsed.poison.append(malformed(message, exc.reason))
            continue
        reason = None if message.source is None else misrouted_reason(message.source, envelope.type)
        if reason is not None:
            # A valid event of another topic's contract: nothing this topic carries was lost, so no hold.
            parsed.poison.append(Poison(message, reason))
            continue
        parsed.valid.append((message, envelope))
    return parsed


def malformed(message: Incoming, reason: str) -> Poison:
    """A message that can never be parsed, to park; with the hold it calls for, if any."""
    event_type = readable_type(message.value, message.headers)
    if not restricts_access(message.source, event_type, parsed=False):
        return Poison(message, reason)
    at = now_utc()
    return Poison(message, reason, tuple(
        Hold(child_id=child, why=MALFORMED, reason=reason, held_at=at, topic=message.topic,
             partition=message.partition, offset=message.offset, event_type=event_type)
        for child in held_children(message.key, message.value, message.headers)))


def subscriptions(topics: Mapping[str, Topic | None], sink: object) -> dict[str, Topic]:
    """Check a consumer's subscriptions before it starts: every topic name must map to the
    contract topic it carries (a topic name with no contract would silently switch off the
    misrouting check and the consent holds: `Incoming.source` None); and a consumer of a topic
    whose messages may restrict access (consent_policy.holds: the consent and referrals topics)
    must be able to record holds (`sink.hold` not None), or a message it cannot apply would be
    parked and acked with the child's access left open."""
    unmapped = sorted(name for name, topic in topics.items() if topic is None)
    if unmapped:
        raise ValueError(f"no contract topic for {', '.join(unmapped)}: map each subscribed topic name to the "
                         "contract topic it carries, e.g. {settings.consent_topic: topics.CONSENT}")
    may_restrict = sorted(name for name, topic in topics.items() if topic.name in _MAY_RESTRICT)
    if may_restrict and getattr(sink, "hold", None) is None:
        raise TypeError(f"a consumer of {', '.join(may_restrict)} must record consent holds (fail closed): "
                        "give it a sink with hold() (a MessageBus with consent_copy=) or hold=")
    return dict(topics)  # type: ignore[arg-type]  # no None left


_MAY_RESTRICT = frozenset({CONSENT.name, REFERRALS.name})
