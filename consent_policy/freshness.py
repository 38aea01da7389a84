"""Is the consent copy fresh enough to decide on? (pure)

The copy of the consent state a service decides on is fed by its own consumer of the consent
and referrals topics. A decision taken while that consumer is behind may miss a withdrawal or
a team departure already published, and an e-mail or webhook cannot be unsent, nor a page
unseen. So notifications decide an external delivery (and an inbox read), and the timeline a
read, only once the copy has applied every partition up to a snapshot of the partitions' end
offsets taken before the decision (the gate: services.common.consent_freshness).

Positions are Kafka's: the offset of the next message to apply, so a partition is caught up
when applied >= end.
"""

from __future__ import annotations

from collections.abc import Mapping

Partition = tuple[str, int]  # (topic, partition)


def behind(snapshot: Mapping[Partition, int], applied: Mapping[Partition, int]) -> dict[Partition, int]:
    """How many messages each partition of `snapshot` still lacks; a partition never applied
    counts from 0. Empty: the copy holds everything published up to the snapshot."""
    lag = {tp: end - applied.get(tp, 0) for tp, end in snapshot.items()}
    return {tp: n for tp, n in lag.items() if n > 0}


def merge_applied(*sources: Mapping[Partition, int | None]) -> dict[Partition, int]:
    """The furthest position known applied per partition, over several sources (the group's
    committed offsets, this process's own positions); None (nothing known) is ignored."""
    merged: dict[Partition, int] = {}
    for source in sources:
        for tp, position in source.items():
            if position is not None and position > merged.get(tp, -1):
                merged[tp] = position
    return merged


def by_topic(lag: Mapping[Partition, int]) -> dict[str, int]:
    """Messages behind per topic, for a gauge labelled by topic (never by key or id)."""
    totals: dict[str, int] = {}
    for (topic, _partition), n in lag.items():
        totals[topic] = totals.get(topic, 0) + n
    return totals
