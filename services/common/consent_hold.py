"""Which events hold their partition rather than being parked, and how long a partition has been
held: the `consent_apply_stuck_seconds` gauge an operator alerts on.

A consent event (or a team event the decision folds: consent_policy.state.FOLDED_TYPES) that a
consumer fails to apply must never go to the dead-letter topic for a passing failure: a
withdrawal not applied leaves the service showing what the parent took back (a leak), a grant
or a join not applied leaves a child's team working blind. So the pipeline retries such an
event until it is applied, and nothing after it on its partition is applied meanwhile (a later
entry about the same child must not be judged on consent state that misses the withdrawal).
Other partitions go on (services.common.lanes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Gauge

from consent_policy.state import FOLDED_TYPES
from schemas.topics import CONSENT

if TYPE_CHECKING:
    from services.common.messagebus import Consumed
    from services.common.incoming import Incoming

PartitionKey = tuple[str, int]  # (topic, partition): equal to aiokafka's TopicPartition and Faust's TP

# Labels: the consumer (group) name, topic and partition — never a child or person id.
CONSENT_APPLY_STUCK = Gauge(
    "consent_apply_stuck_seconds",
    "How long a consent (or team) event has been failing to apply, holding its partition; 0 when not stuck",
    ["consumer", "topic", "partition"],
)


def partition_of(message: "Incoming") -> PartitionKey:
    return (message.topic, message.partition)


def holds_partition(item: "Consumed") -> bool:
    """True for an event whose loss would leave the consent copy behind: it is retried until
    applied, never parked for an apply failure."""
    source = item.origin.source if item.origin is not None else None
    return item.envelope.type in FOLDED_TYPES or (source is not None and source.name == CONSENT.name)


class StuckPartitions:
    """The partitions of one consumer held by an event that does not apply, since when.

    Each partition's gauge child reads the time live at scrape, so the figure rises while the
    event is retried (not only when a retry happens) and is 0 once it is applied."""

    def __init__(self, consumer: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.consumer = consumer
        self._clock = clock
        self._since: dict[PartitionKey, float] = {}
        self._watched: set[PartitionKey] = set()

    def hold(self, key: PartitionKey) -> None:
        self._since.setdefault(key, self._clock())
        if key not in self._watched:
            self._watched.add(key)
            CONSENT_APPLY_STUCK.labels(self.consumer, key[0], str(key[1])).set_function(lambda: self.seconds(key))

    def release(self, key: PartitionKey) -> None:
        self._since.pop(key, None)

    def seconds(self, key: PartitionKey) -> float:
        since = self._since.get(key)
        return 0.0 if since is None else max(0.0, self._clock() - since)

    def longest(self) -> tuple[PartitionKey, float] | None:
        """The partition held longest and for how long, or None when none is held."""
        if not self._since:
            return None
        key = min(self._since, key=self._since.__getitem__)
        return key, self.seconds(key)
