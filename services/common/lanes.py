"""Partitions progress independently: one held by a consent event that will not apply waits on
its own while the others keep being applied and acked.

Both kinds of consumer (the Faust batch agent, services.common.streams, and the plain aiokafka
BatchConsumer, services.common.batch_consumer) hand each fetched batch to `PartitionLanes.feed`:

* the batch's messages of partitions that nothing holds go through the pipeline together (one
  transaction, as ever) and are `done` (acked / committed) as soon as they are applied or parked;
* a partition whose consent event would not apply (BatchIngestor.ingest_holding) gets a lane:
  it is paused at the consumer (nothing more is fetched for it), its messages of this batch and
  any that were already fetched after them wait in the lane, which retries the stuck event until
  it applies (BatchIngestor.apply_held), applies the rest in order, marks them `done`, and
  resumes the partition. Nothing of that partition is acked before the stuck event is applied,
  so a crash meanwhile redelivers from it.

`feed` returns once every partition of the batch that is not held is done, so the caller may
fetch the next batch while a held partition's lane keeps trying.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.common.consent_hold import PartitionKey, partition_of
from services.common.messagebus import Consumed
from services.common.pipeline import BatchIngestor, IngestStats
from services.common.incoming import Incoming

log = logging.getLogger(__name__)

M = TypeVar("M")  # the consumer's own message (a Faust event, an aiokafka record)


@dataclass
class _Lane(Generic[M]):
    task: asyncio.Task | None = None
    # Fetched after the held event and not yet applied, in partition order.
    waiting: list[M] = field(default_factory=list)


class PartitionLanes(Generic[M]):
    """See the module docstring. `incoming(m)` reads a consumer message into the pipeline's
    Incoming; `done(ms, stats, seconds)` acks or commits messages that are applied or parked (one
    partition's in offset order, or several partitions' at once; what applying them came to and
    took); `pause(key)` and
    `resume(key, rewind)` stop and restart fetching a partition (from the message in `rewind`,
    when there is one: a lane that failed to ack puts its first unacked message back)."""

    def __init__(
        self,
        ingestor: BatchIngestor,
        *,
        incoming: Callable[[M], Incoming],
        done: Callable[[Sequence[M], IngestStats, float], Awaitable[None]],
        pause: Callable[[PartitionKey], None],
        resume: Callable[[PartitionKey, Sequence[M]], None],
    ) -> None:
        self._ingestor = ingestor
        self._incoming = incoming
        self._done = done
        self._pause = pause
        self._resume = resume
        self._lanes: dict[PartitionKey, _Lane[M]] = {}

    @property
    def held(self) -> set[PartitionKey]:
        return set(self._lanes)

    async def feed(self, messages: Sequence[M]) -> None:
        pairs = [(message, self._incoming(message)) for message in messages]
        free: list[tuple[M, Incoming]] = []
        for message, incoming in pairs:
            lane = self._lanes.get(partition_of(incoming))
            if lane is not None:
                lane.waiting.append(message)
            else:
                free.append((message, incoming))
        if not free:
            return
        started = time.perf_counter()
        progress = await self._ingestor.ingest_holding([incoming for _, incoming in free])
        finished = [message for message, incoming in free if partition_of(incoming) not in progress.held]
        for key, items in progress.held.items():
            mine = [message for message, incoming in free if partition_of(incoming) == key]
            self._open(key, items, mine)
        await self._done(finished, progress.stats, time.perf_counter() - started)

    def _open(self, key: PartitionKey, held: list[Consumed], messages: list[M]) -> None:
        self._pause(key)
        lane: _Lane[M] = _Lane()
        self._lanes[key] = lane
        lane.task = asyncio.create_task(self._run(key, lane, held, messages), name=f"lane-{key[0]}-{key[1]}")

    async def _run(self, key: PartitionKey, lane: _Lane[M], held: list[Consumed], messages: list[M]) -> None:
        unfinished: list[M] = messages
        try:
            started = time.perf_counter()
            stats = await self._ingestor.apply_held(held)
            await self._done(messages, stats, time.perf_counter() - started)
            while lane.waiting:
                unfinished, lane.waiting = lane.waiting, []
                # In its own lane the partition may wait for as long as it takes: `ingest`
                # retries a consent event that will not apply until it does.
                started = time.perf_counter()
                stats = await self._ingestor.ingest([self._incoming(message) for message in unfinished])
                await self._done(unfinished, stats, time.perf_counter() - started)
            unfinished = []
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - `done` failed (the commit): fetch again from what is not done
            log.exception("partition lane %s[%d] failed; its messages not acked will be read again", *key)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
                self._resume(key, (unfinished + lane.waiting)[:1])

    async def drop(self, keys: Iterable[PartitionKey]) -> None:
        """Stop the lanes of `keys` (revoked from this consumer, or the consumer stops): their
        messages stay unacked, so whoever owns the partition next reads them again."""
        tasks = []
        for key in list(keys):
            lane = self._lanes.pop(key, None)
            if lane is not None and lane.task is not None:
                lane.task.cancel()
                tasks.append(lane.task)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.drop(list(self._lanes))
