"""What the dead-letter topic holds, read as a log: each parked record with whether it has been
replayed, the choice of records to replay, and the listing an operator reads.

Pure: (partition, offset, value, headers) in, decisions and text out; the Kafka side is
services.common.deadletter_tool. A record is named by its place on the dead-letter topic,
`PARTITION:OFFSET` (offsets are per partition, so an offset alone can be ambiguous).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pydantic import ValidationError

from schemas.deadletter import REPLAY_OF_HEADER, DeadLetterRecord, DeadLetterReplayed
from schemas.envelope import READING_EXTRA

REASON_CHARS = 160


class SelectionError(ValueError):
    """The records asked for cannot be chosen (unknown, ambiguous or unreadable); nothing is done."""


@dataclass(frozen=True)
class Message:
    """One message read from the dead-letter topic."""

    partition: int
    offset: int
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


@dataclass(frozen=True)
class Parked:
    """A parked record (None with `problem` when it cannot be read) and its replay marker, if any."""

    partition: int
    offset: int
    record: DeadLetterRecord | None
    problem: str | None = None
    replayed: DeadLetterReplayed | None = None

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


def _read(model, value: bytes | None):
    # A tolerant reader: a record written by a newer build (more fields) is still listed.
    return model.model_validate_json(value or b"", extra=READING_EXTRA)


def fold(messages: Iterable[Message]) -> list[Parked]:
    """The parked records in topic order (partition, offset), each with its replay marker."""
    parked: dict[tuple[int, int], Parked] = {}
    markers: list[DeadLetterReplayed] = []
    for message in messages:
        if _header(message.headers, REPLAY_OF_HEADER) is not None:
            try:
                markers.append(_read(DeadLetterReplayed, message.value))
            except ValidationError:
                pass  # a broken marker marks nothing: the record stays replayable (a replay is idempotent anyway)
            continue
        where = (message.partition, message.offset)
        try:
            parked[where] = Parked(*where, _read(DeadLetterRecord, message.value))
        except ValidationError as e:
            parked[where] = Parked(*where, None, f"not a dead-letter record: {e.error_count()} error(s)")
    for marker in markers:
        if marker.marks in parked:
            parked[marker.marks] = replace(parked[marker.marks], replayed=marker)
    return [parked[where] for where in sorted(parked)]


def matching(parked: Iterable[Parked], *, reason: str | None = None, topic: str | None = None) -> list[Parked]:
    """The readable records whose reason contains `reason` (any case) and whose source is `topic`."""
    return [
        p for p in parked
        if p.record is not None
        and (reason is None or reason.lower() in p.record.reason.lower())
        and (topic is None or p.record.source_topic == topic)
    ]


def parse_position(text: str) -> tuple[int | None, int]:
    """`OFFSET` or `PARTITION:OFFSET` -> (partition or None, offset)."""
    partition, _, offset = text.rpartition(":")
    try:
        numbers = (int(partition) if partition else None, int(offset))
    except ValueError:
        raise SelectionError(f"{text!r} is not OFFSET or PARTITION:OFFSET") from None
    if any(n is not None and n < 0 for n in numbers):
        raise SelectionError(f"{text!r}: partitions and offsets are not negative")
    return numbers


def by_position(parked: Sequence[Parked], positions: Iterable[str], *, topic: str) -> list[Parked]:
    """The records at `positions`, in topic order; raises SelectionError naming every one that is
    unknown, ambiguous or unreadable, so a mistyped offset replays nothing."""
    chosen: dict[tuple[int, int], Parked] = {}
    problems = []
    for text in positions:
        partition, offset = parse_position(text)
        found = [p for p in parked if p.offset == offset and partition in (None, p.partition)]
        if not found:
            problems.append(f"no parked message at {text} on {topic}")
        elif len(found) > 1:
            problems.append(f"offset {offset} is on partitions {', '.join(str(p.partition) for p in found)} of "
                            f"{topic}: say which, e.g. {found[0].position}")
        elif found[0].record is None:
            problems.append(f"{found[0].position} cannot be replayed: {found[0].problem}")
        else:
            chosen[(found[0].partition, found[0].offset)] = found[0]
    if problems:
        raise SelectionError("; ".join(problems))
    return [chosen[where] for where in sorted(chosen)]


def _one_line(text: str, limit: int = REASON_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status(p: Parked) -> str:
    if p.record is None:
        return "unreadable"
    if p.replayed is None:
        return "parked"
    r = p.replayed
    return f"replayed to {r.to_topic}[{r.to_partition}]@{r.to_offset}"


def listing(parked: Sequence[Parked], *, topic: str) -> list[str]:
    """The lines `tac deadletter list` prints: one per record, then a count."""
    lines = ["RECORD\tSOURCE TOPIC\tPARTITION\tOFFSET\tCONSUMER\tFAILED AT\tSTATUS\tREASON"]
    for p in parked:
        if p.record is None:
            lines.append(f"{p.position}\t-\t-\t-\t-\t-\t{status(p)}\t{p.problem}")
            continue
        r = p.record
        lines.append("\t".join([
            p.position, r.source_topic, str(r.partition), str(r.offset), r.consumer,
            r.failed_at.isoformat().replace("+00:00", "Z"), status(p), _one_line(r.reason),
        ]))
    counts = {kind: sum(1 for p in parked if status(p).split()[0] == kind) for kind in ("parked", "replayed", "unreadable")}
    lines.append(f"{len(parked)} record(s) on {topic}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return lines
