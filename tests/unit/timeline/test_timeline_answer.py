"""The timeline's answer is assembled from each entry's rendering made when it was stored
(services.timeline.adapters.shown_as); it must be byte for byte what the declared response
model would give."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from schemas.events import referrals as r
from schemas.vocabulary import Agency
from services.common.directory import Directory, NationalCode, Organisation
from services.timeline.adapters.shown_as import page_json
from services.timeline.domain.entries import NewEntry, ShownEntry, entry_from_envelope
from services.timeline.entrypoints.api import EntryOut, Person, TimelineOut
from tests.unit.timeline.timeline_builders import (
    EP, NOW, PARENT, SETTING_ORG, SLT, concern, envelope, sample, stored_entry,
)

DIRECTORY = Directory.of(Organisation(id=SETTING_ORG, name="Sunflower Nursery \"Röntgen\" 🌻", agency=Agency.SETTING,
                                      national_code=NationalCode(scheme="urn", value="100001")))


def modelled(entry: NewEntry, basis: str) -> EntryOut:
    """The entry as the response model describes it, from the entry itself."""
    return EntryOut(
        event_id=entry.event_id, type=entry.event_type, category=entry.category, occurred_at=entry.occurred_at,
        summary=entry.summary, data=dict(entry.payload), basis=basis,
        author=Person.named(DIRECTORY, entry.author_practitioner_id, entry.author_organisation_id,
                            entry.author_agency, entry.author_role),
    )


@pytest.mark.parametrize("next_before", [None, "MjAyNS0wMy0wMVQxMjowMDowMCswMDowMHwx"])
def test_the_assembled_answer_is_byte_for_byte_the_response_models(next_before):
    child = uuid4()
    shown = [
        (entry_from_envelope(concern(child, time=NOW)), "parent"),  # an organisation the directory names
        (entry_from_envelope(envelope(sample(r.SLTReportShared), child, SLT, time=NOW - timedelta(microseconds=7))),
         f"consent:{uuid4()}"),  # one it does not name; a time with microseconds
        (entry_from_envelope(envelope(sample(r.EPAdviceShared), child, EP)), "own"),
        (entry_from_envelope(concern(child, PARENT)), "parent"),  # a parent's: no organisation
        (entry_from_envelope(concern(child, time=NOW)), "parent"),  # the same organisation again (its name cached)
    ]
    expected = TimelineOut(child_id=child, entries=[modelled(entry, basis) for entry, basis in shown],
                           next_before=next_before).model_dump_json().encode()
    assembled = page_json(child, [ShownEntry(stored_entry(entry), basis) for entry, basis in shown], next_before,
                          DIRECTORY.name_of)
    assert assembled == expected


def test_an_empty_page_reads_the_same_both_ways():
    child = uuid4()
    assert page_json(child, [], None, DIRECTORY.name_of) == TimelineOut(child_id=child, entries=[]).model_dump_json().encode()
