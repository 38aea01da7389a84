"""An entry as the timeline API shows it, rendered once, when the entry is stored, so that a
read serialises nothing per entry: it splices each stored rendering into the page with the two
parts that depend on the read, the author's organisation name (the directory this process
loaded) and the basis the entry is shown on (the caller's consent decision).

Building each entry's record from its row and serialising it again was most of a read of
1,000 entries (bench/results/profile-read-all-1000-*): the rendering moved that work to ingest,
where it is paid once per entry, not once per entry per read.

The rendering is `EntryOut` (services.timeline.entrypoints.api) without those two parts, with
`author` last so that they splice in at the end; tests/unit/timeline/test_timeline_answer.py
holds a page assembled here to the bytes the response model gives. A change to the entry's
shape in the API therefore needs a migration that renders the stored entries again from their
columns, which keep everything (services/timeline/migrations/versions/0005_*).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

import orjson

from services.timeline.domain.entries import NewEntry, ShownEntry

_OPTIONS = orjson.OPT_UTC_Z  # times as pydantic writes them: "…Z"


def render(entry: NewEntry) -> str:
    """The entry as shown, less the author's organisation name and the basis."""
    return orjson.dumps({
        "event_id": entry.event_id, "type": entry.event_type, "category": entry.category,
        "occurred_at": entry.occurred_at, "summary": entry.summary, "data": entry.payload,
        "author": {"practitioner_id": entry.author_practitioner_id, "organisation_id": entry.author_organisation_id,
                   "agency": entry.author_agency, "role": entry.author_role},
    }, option=_OPTIONS).decode()


# A rendering ends with the author object and the entry closing: `…"role":"senco"}}`.
_RENDERING_END = "}}"


def page_json(child_id: UUID, shown: Iterable[ShownEntry], next_before: str | None,
              name_of: Callable[[str | None], str | None]) -> bytes:
    """The timeline page (`TimelineOut`) from the shown entries' renderings."""
    names: dict[str | None, str] = {}
    bases: dict[str, str] = {}
    parts = []
    for shown_entry in shown:
        entry = shown_entry.entry
        organisation = entry.author_organisation_id
        name = names.get(organisation)
        if name is None:
            name = names[organisation] = orjson.dumps(name_of(organisation)).decode()
        basis = bases.get(shown_entry.basis)
        if basis is None:
            basis = bases[shown_entry.basis] = orjson.dumps(shown_entry.basis).decode()
        assert entry.shown_as.endswith(_RENDERING_END), "not a rendering made by render()"
        open_author = entry.shown_as[:-len(_RENDERING_END)]  # the author's object, left open
        parts.append(f'{open_author},"organisation_name":{name}}},"basis":{basis}}}')
    head = orjson.dumps(child_id).decode()
    tail = orjson.dumps(next_before).decode()
    return f'{{"child_id":{head},"entries":[{",".join(parts)}],"next_before":{tail}}}'.encode()
