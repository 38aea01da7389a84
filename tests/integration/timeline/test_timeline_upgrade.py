"""Upgrade, then release (issue 14): an event of a type this build does not know holds the
child and is stored as a placeholder; once the service is upgraded and the event read again
(the group reset to the offset `tac holds list` shows), it is applied as the known event it is
(not skipped as a duplicate), its real entry replaces the placeholder, and only then may the
hold be released. On SQLite and PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from sqlalchemy import select

from schemas.catalogue import EVENT_TYPES
from schemas.envelope import EnvelopeBase
from schemas import topics
from schemas.vocabulary import Agency, Category
from services.common import messagebus
from services.common.cli import main as tac
from services.common.messagebus import Consumed, IngestResult
from services.common.incoming import Incoming
from services.timeline.adapters import store as tables
from services.timeline.service_layer.reads import read_timeline
from tests.integration.timeline.test_timeline_store import T0, sessions, store, viewer  # noqa: F401 - fixtures
from tests.unit.timeline.timeline_builders import (
    SETTING, SLT, SLT_ORG, concern, envelope, granted_payload, joined, withdrawn,
)


def _shown(store, child):
    page = read_timeline(store, viewer=viewer(SLT), actor=SLT, child_id=child, before=None, limit=10,
                         now=T0 + timedelta(minutes=5), audit_topic="audit.test")
    return [(s.entry.event_id, s.basis) for s in page.shown]


def _read(event: EnvelopeBase, as_event: EnvelopeBase) -> Consumed:
    """`as_event` as the consumer hands it on, read from the consent topic at offset 7."""
    return Consumed(as_event, Incoming(event.to_json_bytes(), str(event.subject).encode(), "tac.consent.v1", 0, 7,
                                       topics.CONSENT))


def _release(url: str, child) -> int:
    return tac(["holds", "release", "--database-url", url, "--child", str(child), "--by", "Ada (DPO)"])


def test_an_unknown_consent_type_holds_and_after_the_upgrade_the_same_event_is_applied_then_released(
        store, sessions, database_url, monkeypatch, capsys):
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,), categories=(Category.CONCERN,),
                                     valid_from=T0 - timedelta(days=1)), child, SETTING, time=T0 - timedelta(hours=3))
    raised = concern(child, SETTING, time=T0 - timedelta(hours=1))
    store.ingest([grant, joined(child, SLT_ORG, Agency.SLT_SERVICE, time=T0 - timedelta(hours=2)), raised])
    assert _shown(store, child) == [(raised.id, f"consent:{grant.data.consent_id}")]
    withdrawal = withdrawn(child, grant.data.consent_id, time=T0)

    # This build does not know the withdrawal's type yet: a placeholder, and the child is held.
    monkeypatch.setattr(messagebus, "EVENT_TYPES", {t: c for t, c in EVENT_TYPES.items() if t != withdrawal.type})
    generic = EnvelopeBase.model_validate_json(withdrawal.to_json_bytes())
    assert store.ingest([_read(withdrawal, generic)]) == IngestResult(stored=1, duplicates=0)
    assert store.ingest([_read(withdrawal, generic)]) == IngestResult(stored=0, duplicates=1)  # once
    [hold] = store.open_holds()
    assert (hold["why"], hold["event_id"], hold["offset"]) == ("unknown_type", str(withdrawal.id), 7)
    assert _shown(store, child) == []  # held: consent-based entries fail closed
    assert _release(database_url, child) == 1  # the event is not applied yet: refused, still held
    assert "not applied yet" in capsys.readouterr().err and len(store.open_holds()) == 1

    # Upgraded: the group is reset to offset 7 and the same event is read as the known type.
    monkeypatch.undo()
    assert store.ingest([_read(withdrawal, withdrawal)]) == IngestResult(stored=1, duplicates=0)
    with sessions() as session:
        [(event_type, summary)] = session.execute(select(tables.entries.c.event_type, tables.entries.c.summary)
                                                  .where(tables.entries.c.event_id == str(withdrawal.id))).all()
    assert event_type == withdrawal.type and "cannot describe" not in summary  # the real entry, not the placeholder
    assert store.count_entries(child) == 4
    assert _release(database_url, child) == 0 and store.open_holds() == []
    assert _shown(store, child) == []  # released, and the withdrawal is in force
