"""A consent event that will not apply holds its partition, never the others, and is never parked:
the pipeline's retry-until-applied path and the per-partition lanes, without a broker."""

from __future__ import annotations

import asyncio
import logging
from uuid import uuid4

from prometheus_client import REGISTRY

from schemas import topics
from schemas.catalogue import parse_event
from schemas.envelope import EnvelopeBase
from schemas.vocabulary import Agency
from services.common.consent_hold import StuckPartitions, holds_partition
from services.common.lanes import PartitionLanes
from services.common.messagebus import Consumed, IngestResult
from services.common.pipeline import BatchIngestor
from services.common.incoming import Incoming
from tests.unit.timeline.timeline_builders import concern, joined, withdrawn

CONSENT, REFERRALS = topics.CONSENT.name, topics.REFERRALS.name


class GatedSink:
    """Applies events in order; an event in `blocked` fails until `release()` (or `fail_times` failures)."""

    def __init__(self, *blocked: EnvelopeBase, fail_times: int | None = None) -> None:
        self.blocked = {e.id for e in blocked}
        self.fail_times = fail_times
        self.failures = 0
        self.applied: list = []
        self.released = asyncio.Event()

    def release(self) -> None:
        self.released.set()

    async def ingest(self, batch):
        if any(item.id in self.blocked for item in batch) and not self._through():
            self.failures += 1
            raise RuntimeError("simulated handler failure")
        self.applied.extend(item.id for item in batch)
        return IngestResult(len(batch), 0)

    def _through(self) -> bool:
        if self.fail_times is not None:
            return self.failures >= self.fail_times
        return self.released.is_set()


class DeadLetters:
    def __init__(self) -> None:
        self.parked: list = []

    async def __call__(self, message: Incoming, reason: str) -> None:
        self.parked.append((message.topic, message.partition, message.offset, reason))


def on(topic: str, partition: int, offset: int, event: EnvelopeBase) -> Incoming:
    source = {CONSENT: topics.CONSENT, REFERRALS: topics.REFERRALS}[topic]
    return Incoming(event.to_json_bytes(), event.key, topic, partition, offset, source)


def event_id(message: Incoming):
    return parse_event(message.value).id


def ingestor(sink, dead_letters, consumer: str) -> BatchIngestor:
    return BatchIngestor(sink, dead_letters, initial_backoff_s=0.001, max_backoff_s=0.004, consumer=consumer)


def stuck_gauge(consumer: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value("consent_apply_stuck_seconds",
                                     {"consumer": consumer, "topic": topic, "partition": str(partition)})


def test_consent_and_team_events_hold_their_partition_and_other_events_do_not():
    child = uuid4()
    message = Incoming(b"", None, REFERRALS, 0, 0, topics.REFERRALS)
    assert holds_partition(Consumed(withdrawn(child, uuid4()), message))
    assert holds_partition(Consumed(joined(child, "chatter-slt", Agency.SLT_SERVICE), message))
    assert not holds_partition(Consumed(concern(child), message))
    # Whatever its type, a message of the consent topic is consent state.
    assert holds_partition(Consumed(concern(child), Incoming(b"", None, "t", 0, 0, topics.CONSENT)))


async def test_a_consent_event_failing_n_times_is_applied_on_attempt_n_plus_1_and_never_parked(caplog):
    withdrawal = withdrawn(uuid4(), uuid4())
    sink, parked = GatedSink(withdrawal, fail_times=6), DeadLetters()
    worker = ingestor(sink, parked, "unit-n-times")
    with caplog.at_level(logging.WARNING, logger="services.common.pipeline"):
        await worker.ingest([on(CONSENT, 2, 40, withdrawal)])
    # 6 failures: the batch, then five single tries; the seventh try applies it.
    assert sink.failures == 6 and sink.applied == [withdrawal.id]
    assert parked.parked == [] and worker.stats.dead_lettered == 0 and worker.stats.stored == 1
    stuck = [r for r in caplog.records if r.getMessage() == "consent_apply_stuck"]
    assert stuck and all((r.event_id, r.event_type, r.topic, r.partition, r.offset) ==
                         (str(withdrawal.id), withdrawal.type, CONSENT, 2, 40) for r in stuck)
    assert "simulated handler failure" in stuck[-1].error
    # Once the backoff reached its cap, each retry logs at ERROR: the line to alert on.
    assert any(r.levelno == logging.ERROR for r in stuck)
    assert stuck_gauge("unit-n-times", CONSENT, 2) == 0


async def test_an_other_event_that_keeps_failing_is_still_parked():
    about = concern(uuid4())
    sink, parked = GatedSink(about, fail_times=10**6), DeadLetters()
    await ingestor(sink, parked, "unit-parked").ingest([on(REFERRALS, 0, 5, about)])
    assert [(t, p, o) for t, p, o, _ in parked.parked] == [(REFERRALS, 0, 5)]


async def test_a_held_consent_event_holds_back_only_the_rest_of_its_partition():
    child, other = uuid4(), uuid4()
    stuck, after = withdrawn(child, uuid4()), withdrawn(child, uuid4())
    before = concern(child)
    elsewhere = [concern(other), withdrawn(other, uuid4())]
    batch = [on(CONSENT, 1, 9, stuck), on(REFERRALS, 3, 0, before), on(CONSENT, 4, 0, elsewhere[1]),
             on(CONSENT, 1, 10, after), on(REFERRALS, 5, 7, elsewhere[0])]
    sink, parked = GatedSink(stuck), DeadLetters()
    worker = ingestor(sink, parked, "unit-holding")

    progress = await worker.ingest_holding(batch)

    assert list(progress.held) == [(CONSENT, 1)]
    assert [item.id for item in progress.held[(CONSENT, 1)]] == [stuck.id, after.id]
    assert set(sink.applied) == {before.id, elsewhere[0].id, elsewhere[1].id}
    assert progress.stats.stored == 3 and parked.parked == []

    retrying = asyncio.create_task(worker.apply_held(progress.held[(CONSENT, 1)]))
    await wait_until(lambda: sink.failures >= 4)
    assert not retrying.done() and stuck.id not in sink.applied and after.id not in sink.applied
    assert stuck_gauge("unit-holding", CONSENT, 1) > 0
    sink.release()
    stats = await retrying
    assert sink.applied[-2:] == [stuck.id, after.id] and stats.stored == 2
    assert stuck_gauge("unit-holding", CONSENT, 1) == 0 and parked.parked == []


class Recorder:
    """The consumer side of the lanes: what was acked, paused and resumed, in order."""

    def __init__(self) -> None:
        self.acked: list[Incoming] = []
        self.paused: list = []
        self.resumed: list = []

    async def done(self, messages, stats, seconds) -> None:
        self.acked.extend(messages)

    def lanes(self, worker: BatchIngestor) -> PartitionLanes[Incoming]:
        return PartitionLanes(worker, incoming=lambda m: m, done=self.done, pause=self.paused.append,
                              resume=lambda key, rewind: self.resumed.append((key, list(rewind))))


async def wait_until(condition, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_the_other_partitions_keep_flowing_and_are_acked_while_one_is_held():
    child, other = uuid4(), uuid4()
    stuck = withdrawn(child, uuid4())
    sink, parked, consumer = GatedSink(stuck), DeadLetters(), Recorder()
    lanes = consumer.lanes(ingestor(sink, parked, "unit-lanes"))
    first = [on(CONSENT, 0, 0, stuck), on(CONSENT, 1, 0, withdrawn(other, uuid4())),
             on(CONSENT, 0, 1, withdrawn(child, uuid4()))]

    await lanes.feed(first)

    assert consumer.paused == [(CONSENT, 0)] and lanes.held == {(CONSENT, 0)}
    assert consumer.acked == [first[1]]
    # Later batches: the held partition's messages wait in its lane, the others are applied and acked.
    later_held, later_free = on(CONSENT, 0, 2, withdrawn(child, uuid4())), on(REFERRALS, 2, 0, concern(other))
    await lanes.feed([later_held, later_free])
    assert consumer.acked == [first[1], later_free]
    assert not {stuck.id, event_id(first[2]), event_id(later_held)} & set(sink.applied)

    sink.release()
    await wait_until(lambda: not lanes.held)
    assert consumer.acked[2:] == [first[0], first[2], later_held]  # the held partition, in offset order
    applied = sink.applied
    assert applied.index(stuck.id) < applied.index(event_id(first[2])) < applied.index(event_id(later_held))
    assert consumer.resumed == [((CONSENT, 0), [])] and parked.parked == []


async def test_a_dropped_lane_acks_nothing_and_does_not_resume_the_partition():
    stuck = withdrawn(uuid4(), uuid4())
    sink, consumer = GatedSink(stuck), Recorder()
    lanes = consumer.lanes(ingestor(sink, DeadLetters(), "unit-dropped"))
    await lanes.feed([on(CONSENT, 3, 0, stuck)])
    assert lanes.held == {(CONSENT, 3)}
    await wait_until(lambda: sink.failures >= 3)
    assert stuck_gauge("unit-dropped", CONSENT, 3) > 0

    await lanes.drop([(CONSENT, 3)])  # revoked: its new owner reads it again from the stuck event

    sink.release()
    await asyncio.sleep(0.05)
    assert lanes.held == set() and consumer.acked == [] and consumer.resumed == []
    assert stuck_gauge("unit-dropped", CONSENT, 3) == 0


def test_the_stuck_time_is_read_live_and_is_0_once_released():
    now = [100.0]
    stuck = StuckPartitions("unit-clock", clock=lambda: now[0])
    stuck.hold((CONSENT, 5))
    now[0] = 112.5
    assert stuck_gauge("unit-clock", CONSENT, 5) == 12.5
    assert stuck.longest() == ((CONSENT, 5), 12.5)
    stuck.hold((CONSENT, 5))  # held again while still held: still since the first time
    assert stuck.seconds((CONSENT, 5)) == 12.5
    stuck.release((CONSENT, 5))
    assert stuck_gauge("unit-clock", CONSENT, 5) == 0 and stuck.longest() is None
