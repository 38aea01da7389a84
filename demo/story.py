"""What the story is made of: the entries it creates, as people meet them on the timeline,
and the ids it learns on the way (demo.scenario plays it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from demo.cast import Person

ALL_CATEGORIES = ["concern", "referral", "progress", "health", "slt", "ep", "ehc", "transition", "family_support", "consent"]


@dataclass(frozen=True)
class Entry:
    """A fact the story created, as the people will meet it on the timeline."""

    label: str
    event_id: UUID
    author: Person
    category: str
    joined_organisation_id: str | None = None  # for a "joined the team" entry: who joined


@dataclass
class Story:
    today: date
    child_id: UUID | None = None
    entries: list[Entry] = field(default_factory=list)
    consents: dict[str, UUID] = field(default_factory=dict)  # story label (C1a, ...) -> consent id
    referrals: dict[str, UUID] = field(default_factory=dict)
    ehc_request_id: UUID | None = None
    ehc_received_on: date | None = None
    advice_id: UUID | None = None
    stranger_refusals: list[str] = field(default_factory=list)  # step 13, one line per attempt

    def add(self, label: str, response: dict, author: Person, category: str) -> None:
        self.entries.append(Entry(label, UUID(str(response["event_id"])), author, category))


def months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in range(day.day, 27, -1):  # clamp to the month's end (e.g. 31 -> 30)
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))
