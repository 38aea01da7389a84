"""What the timeline does, called by the thin entry points (the Faust agent, the HTTP routes).

Ingest: parse a batch of raw messages with the contracts, park poison messages on the
dead-letter topic with the reason, store the rest in one transaction, idempotently. It never
raises (except on cancellation): a failure that would come back on every retry is parked,
a passing one (the database is away) is retried until it clears. The agent acks the batch
only after `ingest` returns, so nothing is acknowledged before it is stored or parked.

Reads: the entries the caller may see, decided per entry at read time on the current consent
state, then the read is recorded (access log + TimelineViewed in the outbox, one transaction)
before the response goes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from schemas.catalogue import InvalidEvent, make_envelope, parse_event
from schemas.envelope import Actor, EnvelopeBase
from schemas.events.audit import ShownEntry as ShownEntryContract
from schemas.events.audit import TimelineViewed
from services.common.errors import Forbidden
from consent_policy.decision import Viewer
from services.timeline.domain import (
    AccessRecord, Cursor, ShownEntry, access_log_for_reader, may_read_access_log, misrouted_reason, visible_entries,
)
from services.timeline.store import IngestResult, TimelineStore

log = logging.getLogger(__name__)

SOURCE = "/tac/timeline"


# -- ingest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One raw message as consumed, with where it came from (for the dead-letter record)."""

    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    source: str  # domain.Source.REFERRALS or domain.Source.CONSENT


@dataclass(frozen=True)
class Poison:
    message: Incoming
    reason: str


@dataclass
class Parsed:
    valid: list[tuple[Incoming, EnvelopeBase]] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)


def parse_batch(messages: Sequence[Incoming]) -> Parsed:
    """Validate raw bytes with the pydantic contracts; invalid or misrouted messages become
    Poison with a reason a person can act on."""
    parsed = Parsed()
    for message in messages:
        if not message.value:
            parsed.poison.append(Poison(message, "empty message value"))
            continue
        try:
            envelope = parse_event(message.value)
        except InvalidEvent as exc:
            parsed.poison.append(Poison(message, exc.reason))
            continue
        reason = misrouted_reason(message.source, envelope.type)
        if reason is not None:
            parsed.poison.append(Poison(message, reason))
            continue
        parsed.valid.append((message, envelope))
    return parsed


DeadLetter = Callable[[Incoming, str], Awaitable[None]]


@dataclass
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0


class BatchIngestor:
    """Stores a batch once, or parks what cannot be stored; see the module docstring."""

    def __init__(
        self,
        store: TimelineStore,
        dead_letter: DeadLetter,
        *,
        is_transient: Callable[[BaseException], bool],
        permanent_attempts: int = 3,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._store = store
        self._dead_letter = dead_letter
        self._is_transient = is_transient
        self._permanent_attempts = permanent_attempts
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self.stats = IngestStats()

    async def ingest(self, messages: Sequence[Incoming]) -> None:
        parsed = await asyncio.to_thread(parse_batch, messages)
        if parsed.valid:
            await self._store_all(parsed.valid)
        for poison in parsed.poison:
            await self._park(poison.message, poison.reason)
        self.stats.batches += 1

    async def _store_all(self, valid: list[tuple[Incoming, EnvelopeBase]]) -> None:
        try:
            self._count(await self._with_transient_retries([e for _, e in valid]))
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad event must not hold up the batch
            log.warning("timeline batch of %d failed (%r); storing one by one", len(valid), exc)
        # One event at a time, so only an event that cannot be stored is parked.
        for message, envelope in valid:
            for attempt in range(1, self._permanent_attempts + 1):
                try:
                    self._count(await self._with_transient_retries([envelope]))
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    if attempt == self._permanent_attempts:
                        await self._park(message, f"could not be stored after {attempt} attempts: {exc!r}")
                    else:
                        await asyncio.sleep(self._initial_backoff_s * attempt)

    async def _with_transient_retries(self, envelopes: list[EnvelopeBase]) -> IngestResult:
        """Retry while the database is unavailable: the stream waits, nothing is lost."""
        delay = self._initial_backoff_s
        while True:
            try:
                return await asyncio.to_thread(self._store.ingest, envelopes)
            except Exception as exc:
                if not self._is_transient(exc):
                    raise
                log.warning("timeline store unavailable (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)

    async def _park(self, message: Incoming, reason: str) -> None:
        """Dead-letter until the broker acknowledges: the offset may only be acked after."""
        delay = self._initial_backoff_s
        while True:
            try:
                await self._dead_letter(message, reason)
                self.stats.dead_lettered += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("dead-lettering failed (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)

    def _count(self, result: IngestResult) -> None:
        self.stats.stored += result.stored
        self.stats.duplicates += result.duplicates


# -- reads --------------------------------------------------------------------------------

MAX_PAGE = 1000
CHUNK = 500


@dataclass(frozen=True)
class TimelinePage:
    child_id: UUID
    shown: list[ShownEntry]
    next_before: Cursor | None
    view_id: UUID


def page_of(
    viewer: Viewer, chunks, *, limit: int, now: datetime, state
) -> tuple[list[ShownEntry], Cursor | None]:
    """Up to `limit` visible entries and, only if at least one more *visible* entry follows,
    the cursor for the next page. A cursor that led to an empty page would tell the viewer
    that hidden entries exist further back, so it is never given."""
    shown: list[ShownEntry] = []
    for chunk in chunks:
        shown.extend(visible_entries(viewer, chunk, now, state))
        if len(shown) > limit:
            break
    more = len(shown) > limit
    shown = shown[:limit]
    return shown, (Cursor.after(shown[-1].entry) if more and shown else None)


def read_timeline(
    store: TimelineStore,
    *,
    viewer: Viewer,
    actor: Actor,
    child_id: UUID,
    before: Cursor | None,
    limit: int,
    now: datetime,
    audit_topic: str,
    correlationid: str | None = None,
) -> TimelinePage:
    """The caller's view of the child's timeline, recorded before it is returned.

    An unknown child gives an empty page, exactly like a child whose entries the caller may
    not see, so the answer never tells anyone which children exist."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    state = store.consent_state(child_id)
    chunks = store.entry_chunks(child_id, before, max(CHUNK, limit + 1))
    try:
        shown, next_before = page_of(viewer, chunks, limit=limit, now=now, state=state)
    finally:
        chunks.close()
    view_id = uuid4()
    record = AccessRecord(
        view_id=view_id,
        child_id=child_id,
        viewer_practitioner_id=actor.practitioner_id,
        viewer_organisation_id=actor.organisation_id,
        viewer_agency=str(actor.agency),
        viewer_role=actor.role,
        viewed_at=now,
        entries_shown=len(shown),
        bases=tuple((s.entry.event_id, s.basis) for s in shown),
    )
    viewed = make_envelope(
        TimelineViewed(
            viewed_at=now,
            entries_shown=len(shown),
            shown=tuple(ShownEntryContract(event_id=s.entry.event_id, basis=s.basis) for s in shown),
        ),
        subject=child_id,
        actor=actor,
        source=SOURCE,
        correlationid=correlationid,
        event_id=view_id,
        time=now,
    )
    store.record_view(record, viewed, audit_topic=audit_topic)
    return TimelinePage(child_id, shown, next_before, view_id)


def read_access_log(store: TimelineStore, *, viewer: Viewer, child_id: UUID, limit: int) -> list[AccessRecord]:
    if not may_read_access_log(viewer, child_id, store.setting_of(child_id)):
        raise Forbidden("only the child's parent and the child's setting may read this access log")
    return access_log_for_reader(store.access_records(child_id, limit=limit))
