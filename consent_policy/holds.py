"""Consent holds: when a service cannot apply a message that may restrict access, it fails closed
for that child until a person releases the hold (issues 14 and 16).

A service's copy of the consent state (``consent_policy.store``) is only as good as the messages
it applied. A message it had to leave unapplied may have been a withdrawal, an expiry or a team
member leaving: applying the rest as if nothing happened could show an entry nobody may see any
more. So for such a message the service records a ``Hold`` on the child, and while a child is
held the decision's consent-based rules (safeguarding, team and consent) deny; the rules that
rest on no consent (the parent, the author's own entries, the answer to one's own request) still
permit (``consent_policy.decision``).

Which messages hold (``restricts_access``):

* on ``tac.consent.v1``: any message that can never be parsed (it is also dead-lettered), and an
  event of a type this build does not know (a newer producer's): it may restrict access;
* on ``tac.referrals.v1``: a message, parsed or not, whose ``type`` is a version of one the
  decision folds (a team event: ``tac.referrals.team_member_left.v2`` is a new version of
  ``…team_member_left.v1``, so it holds even though this build cannot parse it), and a message
  that can never be parsed whose type cannot be read at all (it may have been one). Any other
  unknown type on that topic holds nothing.

Which children (``held_children``): the CloudEvent's subject (the ``ce_subject`` header of a
binary-mode message, else the ``subject`` its JSON names), as the subject is what the event is
about; the Kafka key (TAC writes the subject there) only as a cross-check: when the key is a child
id that differs from a readable subject, both are held, since we cannot tell which one is right.
When neither is a child id the hold is on **every** child (``child_id=None``): we cannot tell
whose access the message restricted, so all consent-based access fails closed until a person
looks (fail closed beats guessing).

Pure: the contracts and the standard library only, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from consent_policy.records import require_aware
from consent_policy.state import FOLDED_TYPES
from schemas.topics import CONSENT, REFERRALS, Topic

__all__ = ["MALFORMED", "UNKNOWN_TYPE", "Hold", "held_children", "readable_type", "restricts_access"]

# Why a hold was placed (the `why` of a Hold, and the label of the holds metric).
MALFORMED = "malformed"
UNKNOWN_TYPE = "unknown_type"


@dataclass(frozen=True)
class Hold:
    """One unapplied message that holds a child's consent-based access (``child_id`` None: every
    child's). ``topic``/``partition``/``offset`` say which message (None when applied directly,
    as tools and tests do); a redelivered message is recognised by them, so it holds once."""

    child_id: UUID | None
    why: str
    reason: str
    held_at: datetime
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    event_type: str | None = None
    # The event's id, when it can be read: `tac holds release` refuses to release an
    # unknown-type hold until this event has been applied (the service was upgraded and the
    # event read again), as releasing earlier would reopen access without the restriction.
    event_id: UUID | None = None

    def __post_init__(self) -> None:
        require_aware("held_at", self.held_at)
        if self.why not in (MALFORMED, UNKNOWN_TYPE):
            raise ValueError(f"why must be {MALFORMED!r} or {UNKNOWN_TYPE!r}, not {self.why!r}")


def restricts_access(source: Topic | None, event_type: str | None, *, parsed: bool) -> bool:
    """Whether a message this service cannot apply must hold the child (see the module docstring).

    `parsed`: the message is a well-formed event of an unknown type (True) or can never be
    parsed (False). `event_type`: its type, as far as it can be read (None: unreadable). A
    message read from a topic whose contract is not known (`source` None) holds nothing: the
    consumer did not say what it carries."""
    if source is None:
        return False
    if source.name == CONSENT.name:
        return True
    if source.name == REFERRALS.name:
        if event_type is None:
            return not parsed
        return unversioned(event_type) in _FOLDED_FAMILIES
    return False


def unversioned(event_type: str) -> str:
    """The type without its `.vN` suffix: every version of a type is the same kind of fact."""
    head, dot, tail = event_type.rpartition(".")
    return head if dot and tail[:1] == "v" and tail[1:].isdigit() else event_type


_FOLDED_FAMILIES = frozenset(unversioned(t) for t in FOLDED_TYPES)


def _as_child(text: object) -> UUID | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return None
    try:
        return UUID(text.strip())
    except ValueError:
        return None


def _json_object(value: bytes | str | None) -> dict:
    try:
        body = json.loads(value) if value else None
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _header(headers: tuple[tuple[str, bytes], ...], name: str) -> str | None:
    for key, value in headers:
        if str(key).lower() == name:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def readable_type(value: bytes | str | None, headers: tuple[tuple[str, bytes], ...] = ()) -> str | None:
    """The event type a message that failed to parse names, if it can be read at all: the
    `ce_type` header of a binary-mode message, else the JSON's `type`."""
    found = _header(headers, "ce_type") or _json_object(value).get("type")
    return found if isinstance(found, str) and found else None


def held_children(key: bytes | None, value: bytes | str | None,
                  headers: tuple[tuple[str, bytes], ...] = ()) -> tuple[UUID | None, ...]:
    """The children a message may be about (see the module docstring): its subject, and its key
    too when that is another child id; ``(None,)`` when neither can be read: every child."""
    subject = _as_child(_header(headers, "ce_subject")) or _as_child(_json_object(value).get("subject"))
    found = tuple(dict.fromkeys(child for child in (subject, _as_child(key)) if child is not None))
    return found or (None,)
