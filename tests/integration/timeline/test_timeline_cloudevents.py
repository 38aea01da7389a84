"""A producer that is not TAC: a CloudEvent made by the CloudEvents SDK in binary mode (attributes
in `ce_` headers, the data alone as the value) is stored by the running timeline service."""

from __future__ import annotations

from uuid import uuid4

from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas.catalogue import SCHEMA_ID_PREFIX
from schemas.events import referrals as r
from tests.integration.timeline.test_timeline_service import entries_of, recent
from tests.unit.timeline.timeline_builders import SETTING, SETTING_ORG, sample


async def test_a_binary_mode_cloudevent_made_by_the_sdk_is_stored_and_shown_by_the_timeline(running):
    child = uuid4()
    concern = sample(r.ConcernRaised)
    event = CloudEvent(
        {
            "specversion": "1.0", "id": str(uuid4()), "type": concern.TYPE, "source": "/other-system/setting-mis",
            "subject": str(child), "time": recent(), "datacontenttype": "application/json",
            "dataschema": f"{SCHEMA_ID_PREFIX}{concern.TYPE}", "category": str(concern.CATEGORY),
            "actorpractitionerid": SETTING.practitioner_id, "actororganisationid": SETTING_ORG,
            "actoragency": SETTING.agency.value, "actorrole": SETTING.role, "correlationid": "mis-42",
        },
        concern.model_dump(mode="json"),
    )
    message = to_binary(event, JSONFormat(), key_mapper=lambda e: e.get_subject())
    assert "ce_type" in message.headers and "content-type" in message.headers
    assert not message.value.startswith(b'{"specversion"'), "binary mode: the value is the data alone"

    await running.producer.send_and_wait(running.topics.referrals, message.value, key=message.key.encode(),
                                         headers=list(message.headers.items()))
    await running.until_processed(1)

    assert entries_of(await running.timeline_of(SETTING, child)) == [(event.get_id(), "own")]
    shown = (await running.timeline_of(SETTING, child)).json()["entries"][0]
    assert shown["data"]["summary"] == concern.summary
    assert shown["author"]["organisation_id"] == SETTING_ORG
    assert running.timeline.ingestor.stats.dead_lettered == 0
