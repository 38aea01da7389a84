"""What the timeline does on a read, called by the thin HTTP routes (what it does with a
consumed event is the handler table of services.timeline.service_layer.ingest).

Reads: the entries the caller may see, decided per entry at read time on the current consent
state, then the read is recorded (access log + TimelineViewed in the outbox, one transaction)
before the response goes back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, new_event_id
from schemas.events.audit import TimelineViewed
from services.common.errors import Forbidden
from consent_policy.decision import Decision, Viewer
from services.timeline.adapters.store import TimelineStore
from services.timeline.domain.entries import ShownEntry, StoredEntry
from services.timeline.domain.reading import (
    AccessRecord, Cursor, EntryKind, access_log_for_reader, decide_kinds, may_read_access_log, permitted,
    visible_entries,
)

SOURCE = "/tac/timeline"


MAX_PAGE = 1000


@dataclass(frozen=True)
class TimelinePage:
    child_id: UUID
    shown: list[ShownEntry]
    next_before: Cursor | None
    view_id: UUID


def page_of(
    viewer: Viewer, chunks, *, limit: int, now: datetime, state, decided: dict[EntryKind, Decision] | None = None,
) -> tuple[list[ShownEntry], Cursor | None]:
    """Up to `limit` visible entries and, only if at least one more *visible* entry follows,
    the cursor for the next page. A cursor that led to an empty page would tell the viewer
    that hidden entries exist further back, so it is never given."""
    shown: list[ShownEntry] = []
    for chunk in chunks:
        shown.extend(visible_entries(viewer, chunk, now, state, decided))
        if len(shown) > limit:
            break
    more = len(shown) > limit
    shown = shown[:limit]
    return shown, (Cursor.after(shown[-1].entry) if more and shown else None)


# A read's first chunk. A child with fewer entries than this is read in one query, as before any
# narrowing; a viewer who may see little fetches and drops at most this many entries before the
# store is asked for the permitted kinds only. A page of 100 for an SLT service that sees 3 of
# 8 kinds used to fetch a whole page as stored first (101 rows, 63 dropped): with 20, it builds
# about half the rows it did (bench/results/timeline-2026-12-02-reads-first-chunk.md).
FIRST_CHUNK = 20


def narrowing_chunks(
    fetch: Callable[[Cursor | None, int, Collection[EntryKind] | None], Iterator[list[StoredEntry]]],
    kinds_of: Callable[[], Iterable[EntryKind]],
    viewer: Viewer, *, before: Cursor | None, size: int, now: datetime, state, decided: dict[EntryKind, Decision],
    first_size: int = FIRST_CHUNK,
) -> Iterator[list[StoredEntry]]:
    """The chunks a page of `size` visible entries is taken from, newest first. The first, of
    up to `first_size` entries, as stored (`fetch(before, first_size, None)`). After it, only as
    many as the page still needs: as stored again if it hid nothing; else only the kinds of
    entry permitted (`fetch(after it, still needed, kinds)`), decided once each for the kinds
    the child has (`kinds_of()`).

    A viewer who may see 2 of 8 categories no longer fetches and drops three entries for each
    one shown; a child with few entries pays nothing for it: one query, as before. `decided` is
    the read's: page_of fills it as it decides each chunk, before asking for the next."""
    first_size = min(size, first_size)
    chunks = fetch(before, first_size, None)
    try:
        first = next(chunks, None)
    finally:
        chunks.close()
    if first is None:
        return
    yield first
    if len(first) < first_size:
        return  # the child has no more
    after = Cursor.after(first[-1])
    if all(decision.permitted for decision in decided.values()):
        if size > len(first):  # nothing hidden so far: on as stored, in chunks no smaller than the first
            yield from fetch(after, max(size - len(first), first_size), None)
        return
    decided.update(decide_kinds(viewer, (k for k in kinds_of() if k not in decided), now, state))
    shown = sum(1 for entry in first if (decision := decided.get(EntryKind.of(entry))) and decision.permitted)
    yield from fetch(after, size - shown, permitted(decided))


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
    with store.recorded_read() as read:
        snapshot = read.snapshot
        state = snapshot.consent_state(child_id)
        decided: dict[EntryKind, Decision] = {}
        # A page and one more (is there a next page?); each entry is decided as it comes (page_of).
        chunks = narrowing_chunks(
            lambda after, chunk_size, kinds: snapshot.entry_chunks(child_id, after, chunk_size, kinds),
            lambda: snapshot.entry_kinds(child_id), viewer, before=before, size=limit + 1, now=now, state=state,
            decided=decided)
        try:
            shown, next_before = page_of(viewer, chunks, limit=limit, now=now, state=state, decided=decided)
        finally:
            chunks.close()
        record, viewed = view_of(child_id, shown, actor=actor, now=now, correlationid=correlationid)
        read.record(record, viewed, audit_topic=audit_topic)
    return TimelinePage(child_id, shown, next_before, record.view_id)


def view_of(child_id: UUID, shown: list[ShownEntry], *, actor: Actor, now: datetime,
            correlationid: str | None) -> tuple[AccessRecord, EnvelopeBase]:
    """The access-log record of a read and its TimelineViewed event."""
    view_id = new_event_id()  # TimelineViewed's id, and the access log's key: time-ordered like every event's
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
            # Validated as one list (one call into pydantic-core), not a model per entry.
            shown=[{"event_id": s.entry.event_id, "basis": s.basis} for s in shown],  # type: ignore[misc]
        ),
        subject=child_id,
        actor=actor,
        source=SOURCE,
        correlationid=correlationid,
        event_id=view_id,
        time=now,
    )
    return record, viewed


def read_access_log(store: TimelineStore, *, viewer: Viewer, child_id: UUID, limit: int) -> list[AccessRecord]:
    if not may_read_access_log(viewer, child_id, store.setting_of(child_id)):
        raise Forbidden("only the child's parent and the child's setting may read this access log")
    return access_log_for_reader(store.access_records(child_id, limit=limit))
