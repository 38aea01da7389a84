"""The timeline's answer is serialised in one pass (services.timeline.entrypoints.api.timeline_json);
it must be byte for byte what the declared response model would give."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from schemas.events import referrals as r
from schemas.vocabulary import Agency
from services.common.directory import Directory, NationalCode, Organisation
from services.timeline.domain.entries import ShownEntry, StoredEntry, entry_from_envelope
from services.timeline.entrypoints.api import EntryOut, TimelineOut, timeline_json
from tests.unit.timeline.timeline_builders import EP, NOW, PARENT, SETTING_ORG, SLT, concern, envelope, sample

DIRECTORY = Directory.of(Organisation(id=SETTING_ORG, name="Sunflower Nursery", agency=Agency.SETTING,
                                      national_code=NationalCode(scheme="urn", value="100001")))


def stored(env) -> StoredEntry:
    e = entry_from_envelope(env)
    return StoredEntry(**{name: getattr(e, name) for name in e.__dataclass_fields__})


def test_the_one_pass_answer_is_byte_for_byte_the_response_models():
    child = uuid4()
    shown = [
        ShownEntry(stored(concern(child, time=NOW)), "parent"),  # an organisation the directory names
        ShownEntry(stored(envelope(sample(r.SLTReportShared), child, SLT, time=NOW - timedelta(microseconds=7))),
                   f"consent:{uuid4()}"),  # one it does not name; a time with microseconds
        ShownEntry(stored(envelope(sample(r.EPAdviceShared), child, EP)), "own"),
        ShownEntry(stored(concern(child, PARENT)), "parent"),  # a parent's: no organisation
    ]
    for next_before in (None, "MjAyNS0wMy0wMVQxMjowMDowMCswMDowMHwx"):
        expected = TimelineOut(child_id=child, entries=[EntryOut.of(s, DIRECTORY) for s in shown],
                               next_before=next_before).model_dump_json().encode()
        assert timeline_json(child, shown, next_before, DIRECTORY) == expected


def test_an_empty_page_reads_the_same_both_ways():
    child = uuid4()
    assert timeline_json(child, [], None, DIRECTORY) == TimelineOut(child_id=child, entries=[]).model_dump_json().encode()
