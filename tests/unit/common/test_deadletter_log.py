"""The dead-letter topic read as a log (services.common.deadletter_log) and the `tac deadletter`
command's errors: which records are parked or replayed, which a replay picks, what `list` prints."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from schemas.deadletter import REPLAY_OF_HEADER, DeadLetterRecord, DeadLetterReplayed
from services.common.cli import main
from services.common.deadletter_log import Message, SelectionError, by_position, fold, listing, matching

T = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
DLT = "tac.deadletter.v1"


def parked(partition: int, offset: int, reason: str, source: str = "tac.referrals.v1") -> Message:
    record = DeadLetterRecord.for_message(reason=reason, source_topic=source, partition=2, offset=40 + offset,
                                          consumer="tac-timeline", key=b"child", value=b"{}", failed_at=T)
    return Message(partition, offset, record.to_json_bytes(), (("reason", reason.encode()),))


def marker(partition: int, offset: int, of: tuple[int, int]) -> Message:
    replayed = DeadLetterReplayed(record_partition=of[0], record_offset=of[1], to_topic="tac.referrals.v1",
                                  to_partition=2, to_offset=900, replayed_at=T)
    return Message(partition, offset, replayed.to_json_bytes(), ((REPLAY_OF_HEADER, f"{of[0]}:{of[1]}".encode()),))


LOG = [
    parked(0, 0, "could not be stored after 3 attempts: store refused"),
    parked(1, 0, "malformed JSON: expected value"),
    parked(0, 1, "could not be stored after 3 attempts: timeout", source="tac.consent.v1"),
    marker(0, 2, of=(0, 0)),
    Message(1, 4, b"not a record", (("reason", b"x"),)),
]


def test_a_marker_marks_its_record_replayed_and_is_not_itself_a_parked_record():
    records = fold(LOG)
    assert [(p.position, p.replayed is not None, p.record is not None) for p in records] == [
        ("0:0", True, True), ("0:1", False, True), ("1:0", False, True), ("1:4", False, False)]
    assert records[0].replayed.to_offset == 900


def test_a_replay_by_reason_or_topic_picks_readable_records_whose_reason_contains_the_words_in_any_case():
    records = fold(LOG)
    assert [p.position for p in matching(records, reason="COULD NOT BE STORED")] == ["0:0", "0:1"]
    assert [p.position for p in matching(records, topic="tac.consent.v1")] == ["0:1"]
    assert [p.position for p in matching(records)] == ["0:0", "0:1", "1:0"]


def test_a_record_is_chosen_by_partition_and_offset_or_by_an_offset_only_one_partition_has():
    records = fold(LOG)
    assert [p.position for p in by_position(records, ["1:0", "0:1", "0:1"], topic=DLT)] == ["0:1", "1:0"]
    assert [p.position for p in by_position(records, ["1"], topic=DLT)] == ["0:1"]


@pytest.mark.parametrize(("asked", "says"), [
    (["7"], "no parked message at 7 on tac.deadletter.v1"),
    (["3:0"], "no parked message at 3:0"),
    (["0"], "offset 0 is on partitions 0, 1 of tac.deadletter.v1: say which, e.g. 0:0"),
    (["4"], "1:4 cannot be replayed: not a dead-letter record"),
    (["abc"], "'abc' is not OFFSET or PARTITION:OFFSET"),
    (["-1"], "not negative"),
])
def test_an_unknown_ambiguous_or_unreadable_choice_is_refused_with_the_reason(asked, says):
    with pytest.raises(SelectionError, match=says):
        by_position(fold(LOG), ["0:0", *asked], topic=DLT)


def test_the_listing_shows_reason_source_topic_partition_offset_and_status_of_each_record():
    lines = listing(fold(LOG), topic=DLT)
    assert lines[0].split("\t") == ["RECORD", "SOURCE TOPIC", "PARTITION", "OFFSET", "CONSUMER", "FAILED AT",
                                    "STATUS", "REASON"]
    assert lines[1].split("\t") == ["0:0", "tac.referrals.v1", "2", "40", "tac-timeline", "2026-12-01T09:30:00Z",
                                    "replayed to tac.referrals.v1[2]@900",
                                    "could not be stored after 3 attempts: store refused"]
    assert lines[2].split("\t")[:4] == ["0:1", "tac.consent.v1", "2", "41"]
    assert lines[4].split("\t")[6] == "unreadable"
    assert lines[-1] == f"4 record(s) on {DLT}: 2 parked, 1 replayed, 1 unreadable"


def test_a_long_reason_is_listed_on_one_line_and_cut():
    (line,) = listing(fold([parked(0, 0, "line one\nline two " + "x" * 500)]), topic=DLT)[1:2]
    reason = line.split("\t")[-1]
    assert reason.startswith("line one line two") and reason.endswith("…") and len(reason) == 160


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("action", [["list"], ["replay", "--all"]])
def test_without_a_broker_the_command_says_so_in_one_line_and_exits_non_zero(capsys, action):
    status = main(["deadletter", *action, "--bootstrap-servers", f"127.0.0.1:{_closed_port()}", "--timeout", "1"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"tac deadletter {action[0]}: error: cannot reach Kafka") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_replay_must_say_which_records(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["deadletter", "replay"])
    assert exit_.value.code == 2
    assert "one of the arguments --offset --reason --all is required" in capsys.readouterr().err
