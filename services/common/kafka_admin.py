"""Broker readiness and topic provisioning for TAC's Kafka.

Used by ``scripts/kafka.sh`` (``make kafka-up``) and by tests:

    python -m services.common.kafka_admin wait            # until the broker answers metadata
    python -m services.common.kafka_admin ensure-topics   # create the missing TAC topics

Both read the broker from ``KAFKA_BOOTSTRAP_SERVERS`` (default ``127.0.0.1:9092``);
``ensure-topics`` takes the partition count from ``TAC_KAFKA_PARTITIONS`` (default
``schemas.topics.DEFAULT_PARTITIONS``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from schemas.topics import ALL_TOPICS, DEFAULT_PARTITIONS

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"

log = logging.getLogger(__name__)


def _admin(bootstrap: str, request_timeout_s: float) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="tac-admin",
        request_timeout_ms=max(1000, int(request_timeout_s * 1000)),
    )


async def _close(admin: AIOKafkaAdminClient) -> None:
    try:
        await admin.close()
    except Exception:  # noqa: BLE001 - closing a half-started client must not mask the real error
        pass


async def wait_for_broker(bootstrap: str, timeout_s: float) -> None:
    """Return once ``bootstrap`` answers a metadata request naming at least one broker.

    Raises ``TimeoutError`` (with the last error seen) when it has not within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"Kafka at {bootstrap} did not answer a metadata request within {timeout_s:g}s"
                + (f" (last error: {last_error!r})" if last_error else "")
            )
        admin = _admin(bootstrap, min(5.0, max(1.0, remaining)))
        try:
            await asyncio.wait_for(admin.start(), timeout=max(0.5, remaining))
            cluster = await asyncio.wait_for(admin.describe_cluster(), timeout=max(0.5, remaining))
            if cluster.get("brokers"):
                return
            last_error = RuntimeError("metadata response listed no brokers")
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            last_error = exc
        finally:
            await _close(admin)
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: Iterable[str], timeout_s: float
) -> None:
    """Wait until every partition of ``names`` has a leader, so producers can use them at once."""
    names = list(names)
    if not names:
        return
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        pending = [
            t["topic"]
            for t in described
            if t["error_code"] != 0
            or not t["partitions"]
            or any(p["leader"] < 0 for p in t["partitions"])
        ]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics without partition leaders after {timeout_s:g}s: {pending}")
        await asyncio.sleep(0.2)


async def _warm_group_coordinator(admin: AIOKafkaAdminClient, timeout_s: float) -> None:
    """Have the broker create ``__consumer_offsets`` now (FindCoordinator does), so the first
    consumer group of a test does not wait for it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await admin.find_coordinator("tac-admin-warmup")
            return
        except KafkaError:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.2)


async def ensure_topics(
    bootstrap: str,
    partitions: int,
    *,
    replication_factor: int = 1,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create every topic of ``schemas.topics.ALL_TOPICS`` that the broker lacks.

    Existing topics are left as they are (their partition count is not changed). Returns the
    names created by this call, once every TAC partition has a leader and the group
    coordinator answers.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    wanted = [t.name for t in ALL_TOPICS]
    admin = _admin(bootstrap, timeout_s)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        created: list[str] = []
        if missing:
            response = await admin.create_topics(
                [NewTopic(name, partitions, replication_factor) for name in missing],
                timeout_ms=int(timeout_s * 1000),
            )
            for topic_error in response.topic_errors:
                name, code = topic_error[0], topic_error[1]
                if code == 0:
                    created.append(name)
                    continue
                error = for_code(code)
                if error is TopicAlreadyExistsError:  # created concurrently by someone else
                    continue
                message = topic_error[2] if len(topic_error) > 2 else None
                raise error(f"creating topic {name}: {message or error.__name__}")
        await _wait_for_leaders(admin, wanted, timeout_s)
        await _warm_group_coordinator(admin, timeout_s)
        return created
    finally:
        await _close(admin)


def _partitions_from_env() -> int:
    raw = os.environ.get("TAC_KAFKA_PARTITIONS", "").strip()
    if not raw:
        return DEFAULT_PARTITIONS
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"TAC_KAFKA_PARTITIONS must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"TAC_KAFKA_PARTITIONS must be a positive integer, got {raw!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.kafka_admin",
        description="Wait for TAC's Kafka broker or create its topics.",
    )
    parser.add_argument("command", choices=["wait", "ensure-topics"])
    parser.add_argument(
        "--timeout", type=float, default=90.0, help="seconds to wait (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    # aiokafka logs every refused connection at ERROR while we poll a starting broker.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or DEFAULT_BOOTSTRAP
    try:
        if args.command == "wait":
            asyncio.run(wait_for_broker(bootstrap, args.timeout))
            print(f"kafka: {bootstrap} answers")
        else:
            partitions = _partitions_from_env()
            created = asyncio.run(ensure_topics(bootstrap, partitions, timeout_s=args.timeout))
            kept = len(ALL_TOPICS) - len(created)
            if created:
                print(
                    f"kafka: created {len(created)} topic(s) with {partitions} partitions: "
                    + ", ".join(created)
                    + (f" ({kept} already existed)" if kept else "")
                )
            else:
                print(f"kafka: all {len(ALL_TOPICS)} topics already exist")
    except (TimeoutError, KafkaError, OSError) as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
