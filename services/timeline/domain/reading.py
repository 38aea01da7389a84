"""The timeline's pure rules (DESIGN §3, §4), part two: which entries a viewer may see and on
what basis, who may read the access log and what it shows, and the cursor of a page.

Pure: the contracts, the consent decision, and the standard library.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime, timezone
from uuid import UUID

from consent_policy.decision import Decision, Entry, Viewer, decide
from consent_policy.state import ConsentState
from services.timeline.domain.entries import ShownEntry, StoredEntry


# -- who sees what ------------------------------------------------------------------------


class EntryKind(NamedTuple):
    """All the consent decision reads of an entry (consent_policy.decision.Entry, its event id
    aside): the viewer, time and state being the same for a whole read, every entry of one kind
    is decided alike. A child's 1,000 entries come to a handful of kinds."""

    child_id: UUID
    author_organisation_id: str | None
    category: str
    answers_request_of: str | None

    @classmethod
    def of(cls, entry: StoredEntry) -> "EntryKind":
        return cls(entry.child_id, entry.author_organisation_id, entry.category, entry.answers_request_of)

    def as_decision_entry(self) -> Entry:
        # The decision never reads an entry's id: a kind stands for all its entries.
        return Entry(_ANY_ENTRY, self.child_id, self.author_organisation_id, self.category,
                     answers_request_of=self.answers_request_of)


_ANY_ENTRY = UUID(int=0)


def decide_kinds(viewer: Viewer, kinds: Iterable[EntryKind], now: datetime, state: ConsentState) -> dict[EntryKind, Decision]:
    """The decision for each kind of entry. Once a read's first chunk has hidden an entry, the
    store is asked only for the kinds permitted (services.timeline.service_layer.reads
    .narrowing_chunks), so a viewer who may see 2 of 8 categories does not go on fetching and
    dropping the other three quarters (bench/results/profile-read-page-100-*)."""
    return {kind: decide(viewer, kind.as_decision_entry(), now, state) for kind in kinds}


def permitted(decided: dict[EntryKind, Decision]) -> list[EntryKind]:
    return [kind for kind, decision in decided.items() if decision.permitted]


def visible_entries(viewer: Viewer, entries: Iterable[StoredEntry], now: datetime, state: ConsentState,
                    decided: dict[EntryKind, Decision] | None = None) -> list[ShownEntry]:
    """The entries ``viewer`` may see, each with its basis, in the order given.

    Denied entries are dropped, not redacted: a stub would tell the viewer that something
    exists which the family has not agreed to share (DESIGN §3).

    Each entry is decided here whatever the store was asked for, so a query that fetched too
    much could never show it. ``decided``: the decisions already taken for this read
    (decide_kinds), extended here with any kind not in it; each kind is decided once, where
    deciding each entry was a third of a consent-based read
    (bench/results/profile-read-page-100-*-before.txt)."""
    decided = {} if decided is None else decided
    shown = []
    for entry in entries:
        kind = EntryKind.of(entry)
        decision = decided.get(kind)
        if decision is None:
            decision = decided[kind] = decide(viewer, kind.as_decision_entry(), now, state)
        if decision.permitted:
            assert decision.basis is not None
            shown.append(ShownEntry(entry, decision.basis))
    return shown


def may_read_access_log(viewer: Viewer, child_id: UUID, setting_organisation_id: str | None) -> bool:
    """The parent (DESIGN §3: "parents can see that access log") and practitioners of the
    child's setting, which registered the child and coordinates the team around them.

    An unknown child has no setting, so a practitioner gets the same refusal as for a child of
    another setting: the answer does not reveal which children exist."""
    if viewer.is_parent:
        return child_id in viewer.children
    return setting_organisation_id is not None and viewer.organisation_id == setting_organisation_id


SAFEGUARDING_BASIS_PREFIX = "safeguarding:"


@dataclass(frozen=True)
class AccessRecord:
    """One read of a child's timeline, as kept in the access log."""

    view_id: UUID
    child_id: UUID
    viewer_practitioner_id: str
    viewer_organisation_id: str | None
    viewer_agency: str
    viewer_role: str
    viewed_at: datetime
    entries_shown: int
    bases: tuple[tuple[UUID, str], ...]

    @property
    def basis_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, basis in self.bases:
            counts[basis] = counts.get(basis, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def used_safeguarding_access(self) -> bool:
        return any(basis.startswith(SAFEGUARDING_BASIS_PREFIX) for _, basis in self.bases)


def access_log_for_reader(records: Iterable[AccessRecord]) -> list[AccessRecord]:
    """The access log as the parent and the setting see it.

    Reads made under break-glass safeguarding access are left out. The information-sharing
    advice (HM Government, 2024) says to tell the family that information was shared without
    consent *when it is safe to do so*; TAC has no event yet that records that decision, and
    the concern may be about someone at home or at the setting. Those reads stay on
    tac.audit.v1 (TimelineViewed) for the designated safeguarding lead and auditors."""
    return [record for record in records if not record.used_safeguarding_access]


# -- paging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Position in a child's timeline, newest first: entries strictly older than
    (occurred_at, event_id) come next. Opaque to callers."""

    occurred_at: datetime
    event_id: UUID

    def encode(self) -> str:
        raw = f"{self.occurred_at.astimezone(timezone.utc).isoformat()}|{self.event_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The cursor, or ValueError with words a caller can act on."""
        try:
            padded = text + "=" * (-len(text) % 4)
            when, event_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
            occurred_at = datetime.fromisoformat(when)
            if occurred_at.tzinfo is None:
                raise ValueError("naive time")
            # In UTC here, so a time near datetime's limits fails now (422), not in the query (500).
            return cls(occurred_at.astimezone(timezone.utc), UUID(event_id))
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise ValueError("not a cursor returned by this API (use next_before from a previous page)") from None

    @classmethod
    def after(cls, entry: StoredEntry) -> "Cursor":
        return cls(entry.occurred_at, entry.event_id)
