"""The Faust app every stream-processing service starts from (timeline, notifications).

Conventions shared by both (../shared/README.md): raw bytes in, validated by the contracts;
agents at concurrency 1; at-least-once with idempotent writes, not Faust's exactly-once;
offsets committed on a timer, never per message; topics are provisioned, Faust declares none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust


def broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()]


def make_faust_app(
    *,
    group: str,
    bootstrap: str,
    datadir: Path,
    commit_interval_s: float,
    session_timeout_s: float,
    logging_config: Any = None,
) -> faust.App:
    """Builds (but does not start or connect) a Faust app consuming as consumer group `group`."""
    return faust.App(
        group,
        broker=broker_urls(bootstrap),
        datadir=str(datadir),
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        autodiscover=False,
        # Topics are provisioned (auto creation is off on the broker): Faust declares none,
        # not even its assignor leader topic.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=commit_interval_s,
        broker_session_timeout=session_timeout_s,
        broker_heartbeat_interval=min(3.0, session_timeout_s / 3),
        logging_config=logging_config,
    )
