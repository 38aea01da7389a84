"""`tac deadletter list` and `tac deadletter replay`: the dead-letter topic for an operator.

    tac deadletter list   [--reason SUBSTR] [--topic SOURCE_TOPIC]
    tac deadletter replay (--offset [PARTITION:]OFFSET ... | --reason SUBSTR | --all) [--force]

Both read the dead-letter topic from its beginning to the end it had when they started (assigned
partitions, no consumer group, nothing committed), so they always terminate and never disturb
anyone's offsets. `replay` re-produces each chosen original (value, key and headers as parked,
plus a `tac-replayed-from` header) to its source topic through the idempotent producer, and then
appends a DeadLetterReplayed marker to the dead-letter topic. A record with a marker is skipped
next time (`--force` sends it again), so replaying twice changes nothing; and should the tool die
between the two sends, the record is sent again next time, which TAC consumers ignore because
they de-duplicate by event id.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas.deadletter import REPLAY_OF_HEADER, REPLAYED_FROM_HEADER, DeadLetterReplayed
from schemas.topics import DEADLETTER
from services.common.deadletter_log import Message, Parked, SelectionError, by_position, fold, listing, matching
from services.common.kafka import make_producer
from services.common.kafka_admin import DEFAULT_BOOTSTRAP, wait_for_broker


class ToolError(Exception):
    """A failure to report in one line, with a non-zero exit status."""


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tac-deadletter")
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] or not described["partitions"]:
        raise ToolError(f"there is no topic {topic} on {bootstrap}")
    return [TopicPartition(topic, p["partition"]) for p in sorted(described["partitions"], key=lambda p: p["partition"])]


async def read_parked(bootstrap: str, topic: str, *, timeout_s: float) -> list[Parked]:
    """Every record on `topic` up to its end at the start of the read, with its replay marker."""
    try:
        await wait_for_broker(bootstrap, timeout_s=timeout_s)
    except TimeoutError as e:
        raise ToolError(f"cannot reach Kafka: {e}") from None
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                client_id="tac-deadletter")
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        messages: list[Message] = []
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending:
            if loop.time() > deadline:
                raise ToolError(f"could not read {topic} to its end within {timeout_s:g}s")
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batches.items():
                messages += [Message(r.partition, r.offset, r.value, tuple(r.headers or ())) for r in records
                             if r.offset < ends[tp]]
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return fold(messages)
    except KafkaError as e:
        raise ToolError(f"reading {topic} failed: {e!r}") from None
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, chosen: Sequence[Parked], *, timeout_s: float) -> list[DeadLetterReplayed]:
    """Send each chosen original back to its source topic, then mark it replayed; in topic order."""
    producer = make_producer(bootstrap, client_id="tac-deadletter-replay")
    try:
        await producer.start()
    except KafkaError as e:
        raise ToolError(f"cannot reach Kafka: {e!r}") from None
    done: list[DeadLetterReplayed] = []
    try:
        for parked in chosen:
            record = parked.record
            assert record is not None  # by_position and matching only choose readable records
            headers = [(name, value) for name, value in record.headers if name != REPLAYED_FROM_HEADER]
            headers.append((REPLAYED_FROM_HEADER, f"{topic}:{parked.position}".encode()))
            sent = await asyncio.wait_for(
                producer.send_and_wait(record.source_topic, value=record.original, key=record.original_key,
                                       headers=headers),
                timeout_s,
            )
            marker = DeadLetterReplayed(
                record_partition=parked.partition, record_offset=parked.offset, to_topic=record.source_topic,
                to_partition=sent.partition, to_offset=sent.offset, replayed_at=datetime.now(timezone.utc),
            )
            await asyncio.wait_for(
                producer.send_and_wait(topic, value=marker.to_json_bytes(), key=record.original_key,
                                       headers=[(REPLAY_OF_HEADER, parked.position.encode())]),
                timeout_s,
            )
            done.append(marker)
    except (KafkaError, asyncio.TimeoutError) as e:
        where = chosen[len(done)]
        raise ToolError(f"replaying {where.position} to {where.record.source_topic} failed ({e!r}); "
                        f"{len(done)} replayed before it") from None
    finally:
        await producer.stop()
    return done


# ---------------------------------------------------------------------------- the subcommands


async def _list(args: argparse.Namespace) -> int:
    parked = await read_parked(args.bootstrap_servers, args.deadletter_topic, timeout_s=args.timeout)
    if args.reason is not None or args.topic is not None:
        parked = matching(parked, reason=args.reason, topic=args.topic)
    print("\n".join(listing(parked, topic=args.deadletter_topic)))
    return 0


async def _replay(args: argparse.Namespace) -> int:
    parked = await read_parked(args.bootstrap_servers, args.deadletter_topic, timeout_s=args.timeout)
    if args.offset:
        chosen = by_position(parked, args.offset, topic=args.deadletter_topic)
    else:
        chosen = matching(parked, reason=args.reason)
        if not chosen:
            raise ToolError(f"no parked message on {args.deadletter_topic}"
                            + (f" has a reason containing {args.reason!r}" if args.reason else ""))
    fresh = [p for p in chosen if p.replayed is None or args.force]
    for p in chosen:
        if p not in fresh:
            r = p.replayed
            print(f"skipped {p.position}: already replayed to {r.to_topic}[{r.to_partition}]@{r.to_offset} "
                  f"at {r.replayed_at.isoformat()} (--force sends it again)")
    for marker in await replay(args.bootstrap_servers, args.deadletter_topic, fresh, timeout_s=args.timeout):
        print(f"replayed {marker.record_partition}:{marker.record_offset} to "
              f"{marker.to_topic}[{marker.to_partition}]@{marker.to_offset}")
    print(f"{len(fresh)} replayed, {len(chosen) - len(fresh)} skipped")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP,
                        help=f"Kafka (default: $KAFKA_BOOTSTRAP_SERVERS or {DEFAULT_BOOTSTRAP})")
    parser.add_argument("--deadletter-topic", default=DEADLETTER.name, help=f"default {DEADLETTER.name}")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="give up reaching or reading Kafka after this long (default 30)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing_parser = actions.add_parser("list", help="list parked messages", description="list parked messages")
    listing_parser.add_argument("--reason", metavar="SUBSTR", help="only records whose reason contains SUBSTR (any case)")
    listing_parser.add_argument("--topic", metavar="SOURCE_TOPIC", help="only records parked from this topic")
    _common(listing_parser)
    listing_parser.set_defaults(action_run=_list)

    replaying = actions.add_parser("replay", help="send parked messages back to their source topic",
                                   description="send parked messages back to their source topic, once")
    which = replaying.add_mutually_exclusive_group(required=True)
    which.add_argument("--offset", nargs="+", metavar="[PARTITION:]OFFSET",
                       help="the records at these places on the dead-letter topic (as `list` shows them)")
    which.add_argument("--reason", metavar="SUBSTR", help="every record whose reason contains SUBSTR (any case)")
    which.add_argument("--all", action="store_true", help="every parked record")
    replaying.add_argument("--force", action="store_true", help="also send records already replayed")
    _common(replaying)
    replaying.set_defaults(action_run=_replay)


def run(args: argparse.Namespace) -> int:
    # The client logs every refused connection; the one-line error below says it once. (Restored
    # after: `main` also runs inside other processes, e.g. the tests.)
    client_log = logging.getLogger("aiokafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(args.action_run(args))
    except (ToolError, SelectionError) as e:
        message = str(e)
    except (KafkaError, OSError) as e:  # the broker went away mid-way
        message = f"Kafka failed: {e!r}"
    finally:
        client_log.setLevel(level)
    print(f"tac deadletter {args.action}: error: {message}", file=sys.stderr)
    return 1
