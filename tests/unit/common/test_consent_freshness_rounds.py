"""The freshness gate's rounds (services.common.consent_freshness) with the broker's two answers
stood in for: end offsets and the group's commits. What the gate may skip asking, and what it
must not lose while it asks. (Against the real broker: tests/integration/common/test_consent_freshness.py.)"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Gauge

from services.common.consent_freshness import ConsentCopyFreshness

OURS = ("consent", 0)     # consumed by this process
THEIRS = ("consent", 1)   # another replica's: asked of the group on every round


class Broker:
    """End offsets and committed offsets as the gate would read them, each ask taking a while."""

    def __init__(self, ends: dict, committed: dict) -> None:
        self.ends, self.committed = ends, committed
        self.asked: list[list] = []
        self.delays: list[float] = []

    def serve(self, gate: ConsentCopyFreshness) -> None:
        async def end_offsets(child):
            return dict(self.ends)

        async def committed(partitions):
            self.asked.append(sorted(partitions))
            await asyncio.sleep(self.delays.pop(0) if self.delays else 0.001)
            return {p: self.committed.get(p) for p in partitions}

        gate._consumer = object()  # type: ignore[assignment] - started, as far as the rounds go
        gate._end_offsets = end_offsets  # type: ignore[method-assign]
        gate._committed = committed  # type: ignore[method-assign]


def _gate() -> ConsentCopyFreshness:
    gauge = Gauge("behind", "messages not applied", ["topic"], registry=CollectorRegistry())
    return ConsentCopyFreshness("unused:9092", group_id="g", topics=["consent"], client_id="c",
                                behind_gauge=gauge, waiting="reads wait")


async def test_what_the_consumer_records_while_reads_ask_the_group_is_kept():
    """Two reads ask the group about another replica's partition at once; meanwhile this process
    applies a withdrawal on its own partition. Neither read's answer may overwrite that record:
    the partition is not asked again until a read's last round, so a lost record held every read
    for the whole wait."""
    gate, broker = _gate(), Broker(ends={OURS: 10, THEIRS: 5}, committed={OURS: 10, THEIRS: 5})
    broker.serve(gate)
    gate.consumed_here([OURS])
    broker.ends[OURS] = 10
    assert await gate.wait_until_fresh(1.0) == {}  # OURS asked once since assigned: 10
    broker.ends.update({OURS: 11, THEIRS: 6})
    broker.committed[THEIRS] = 6
    # The first read's answer comes back last, and the record comes between the two answers.
    broker.delays = [0.06, 0.02]
    asyncio.get_running_loop().call_later(0.04, gate.record, *OURS, 11)
    started = time.monotonic()
    assert await asyncio.gather(gate.wait_until_fresh(1.0), gate.wait_until_fresh(1.0)) == [{}, {}]
    assert await gate.wait_until_fresh(1.0) == {}
    assert time.monotonic() - started < 0.5  # not the whole wait of any of the three
    assert all(OURS not in asked for asked in broker.asked[1:])  # and its commit never asked again


async def test_an_answer_asked_for_before_a_rebalance_does_not_count_as_asked_after_it():
    gate, broker = _gate(), Broker(ends={OURS: 3}, committed={OURS: 2})
    broker.serve(gate)
    gate.consumed_here([OURS])
    broker.delays = [0.05]
    asyncio.get_running_loop().call_later(0.01, gate.consumed_here, [OURS])  # the group rebalanced meanwhile
    asyncio.get_running_loop().call_later(0.1, gate.record, *OURS, 3)
    assert await gate.wait_until_fresh(1.0) == {}
    broker.ends[OURS] = 5
    broker.committed[OURS] = 5  # another member had it in between, and committed
    started = time.monotonic()
    assert await gate.wait_until_fresh(1.0) == {}
    assert time.monotonic() - started < 0.5  # asked again at once, not on the last round
    assert broker.asked[-1] == [OURS]
