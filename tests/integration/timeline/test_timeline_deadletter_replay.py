"""`tac deadletter list` and `tac deadletter replay` against the running timeline service and the
real broker: an event its store refused is parked; once the fault is cleared, a replay makes it
take effect exactly once, and replaying again changes nothing."""

from __future__ import annotations

import asyncio
import json
import re
from uuid import uuid4

from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import text

from services.common.cli import main
from tests.integration.timeline.conftest import read_topic
from tests.integration.timeline.test_timeline_service import entries_of, recent
from tests.unit.timeline.timeline_builders import SETTING, concern

# A fault the test can clear: the store refuses one event id (a trigger), as a broken migration or
# a constraint the event trips would; the pipeline tries it three times and parks it.
REFUSE = {
    "postgresql": [
        "CREATE FUNCTION refuse_stuck() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'store refused %', NEW.event_id; "
        "END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_stuck BEFORE INSERT ON timeline_entries FOR EACH ROW "
        "WHEN (NEW.event_id = '{event_id}') EXECUTE FUNCTION refuse_stuck()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_stuck BEFORE INSERT ON timeline_entries WHEN NEW.event_id = '{event_id}' "
        "BEGIN SELECT RAISE(ABORT, 'store refused'); END",
    ],
}
CLEAR = {"postgresql": ["DROP TRIGGER refuse_stuck ON timeline_entries"], "sqlite": ["DROP TRIGGER refuse_stuck"]}


def _execute(running, statements: list[str], **values) -> None:
    with running.timeline.runtime.sessions.begin() as session:
        for statement in statements:
            session.execute(text(statement.format(**values)))


def _binary_mode(envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """The envelope as another producer's SDK sends it: attributes in ce_ headers, data as value."""
    body = json.loads(envelope.to_json_bytes())
    data = body.pop("data")
    attributes = {k: v for k, v in body.items() if v is not None} | {"time": envelope.time}
    message = to_binary(CloudEvent(attributes, data), JSONFormat(), key_mapper=lambda e: e.get_subject())
    return message.value, message.key.encode(), list(message.headers.items())


# The service runs in this process and logs to stdout too; its lines begin with a timestamp.
SERVICE_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


async def _tac(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the `tac` console script's main as the shell would; its exit status and what it printed."""
    capsys.readouterr()
    status = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    out = "".join(line for line in captured.out.splitlines(keepends=True) if not SERVICE_LOG_LINE.match(line))
    return status, out, captured.err


async def test_an_event_parked_by_a_fault_takes_effect_once_after_replay_and_a_second_replay_changes_nothing(
    running, capsys
):
    child = uuid4()
    stuck, after = concern(child, SETTING, time=recent(2)), concern(child, SETTING, time=recent(1))
    dialect = running.timeline.runtime.sessions.kw["bind"].dialect.name
    _execute(running, REFUSE[dialect], event_id=stuck.id)
    value, key, headers = _binary_mode(stuck)
    await running.producer.send_and_wait(running.topics.referrals, value, key=key, headers=headers)
    await running.publish(after)
    await running.until(lambda: running.timeline.ingestor.stats.dead_lettered == 1, what="the refused event parked")
    await running.until(lambda: running.timeline.store.count_entries(child) == 1, what="the next event stored")
    assert entries_of(await running.timeline_of(SETTING, child)) == [(str(after.id), "own")]

    cli = ["--deadletter-topic", running.topics.deadletter, "--bootstrap-servers",
           running.settings.kafka_bootstrap_servers]
    status, out, _ = await _tac(capsys, "deadletter", "list", *cli)
    assert status == 0
    (line,) = [row for row in out.splitlines() if running.topics.referrals in row]
    position, source, partition, offset, consumer, _, state, reason = line.split("\t")
    assert (source, consumer, state) == (running.topics.referrals, running.settings.consumer_group, "parked")
    assert reason.startswith("could not be stored after 3 attempts") and "store refused" in reason
    assert out.splitlines()[-1] == f"1 record(s) on {running.topics.deadletter}: 1 parked, 0 replayed, 0 unreadable"

    _execute(running, CLEAR[dialect])  # the fault is fixed
    status, out, _ = await _tac(capsys, "deadletter", "replay", "--reason", "STORE REFUSED", *cli)
    assert status == 0, out
    assert f"replayed {position} to {running.topics.referrals}" in out and out.endswith("1 replayed, 0 skipped\n")
    await running.until(lambda: running.timeline.store.count_entries(child) == 2, what="the replayed event stored")
    assert entries_of(await running.timeline_of(SETTING, child)) == [(str(after.id), "own"), (str(stuck.id), "own")]

    status, out, _ = await _tac(capsys, "deadletter", "replay", "--all", *cli)
    assert status == 0
    assert out.startswith(f"skipped {position}: already replayed") and out.endswith("0 replayed, 1 skipped\n")
    copies = [m for m in await read_topic(running.settings.kafka_bootstrap_servers, running.topics.referrals,
                                          expected=3) if dict(m.headers).get("ce_id") == str(stuck.id).encode()]
    assert len(copies) == 2, "the original and one replay: the second replay sent nothing"
    replayed = copies[1]
    assert [h for h in replayed.headers if h[0] != "tac-replayed-from"] == headers, "headers as parked"
    assert dict(replayed.headers)["tac-replayed-from"] == f"{running.topics.deadletter}:{position}".encode()
    assert (replayed.key, replayed.value) == (key, value)

    # Forced, the record goes back again, and the consumer's claim on the event id makes it a no-op.
    duplicates = running.timeline.ingestor.stats.duplicates
    status, out, _ = await _tac(capsys, "deadletter", "replay", "--offset", position, "--force", *cli)
    assert status == 0 and out.endswith("1 replayed, 0 skipped\n")
    await running.until(lambda: running.timeline.ingestor.stats.duplicates == duplicates + 1, what="the duplicate")
    assert running.timeline.store.count_entries(child) == 2
    assert running.timeline.ingestor.stats.dead_lettered == 1

    status, out, _ = await _tac(capsys, "deadletter", "list", *cli)
    assert f"\treplayed to {running.topics.referrals}[" in out
    assert out.splitlines()[-1] == f"1 record(s) on {running.topics.deadletter}: 0 parked, 1 replayed, 0 unreadable"
