"""What every service process runs beside its HTTP routes, started and stopped one way.

A service's bootstrap.py composes itself the same way each time:

    def build(settings, *, clock=utc_now):
        runtime = ServiceRuntime(settings, service="<service>", client_id="tac-<service>")  # engine, sessions
        transactions = UnitOfWorkFactory(runtime.sessions, clock=clock, outbox=store.outbox,
                                         processed=store.processed_events, source=SOURCE,
                                         on_commit=runtime.committed)
        ... handlers, HANDLERS bound to `transactions`, routers ...

        @asynccontextmanager
        async def lifespan(app):
            async with runtime.running(MIGRATIONS if settings.run_migrations else None):
                runtime.start_relay(store.outbox)                     # publish what commits
                await runtime.start_consumer("x_consumer", envelope_consumer(...))   # a BatchConsumer
                runtime.run("timer", task.run)                        # any loop taking `stop`
                yield

        app = create_app(..., lifespan=lifespan)
        app.state.readiness = runtime.ready   # database, broker, stuck consent (services.common.readiness)

`running()` runs the migrations, waits for the broker if asked, starts the idempotent producer
and, on the way out, stops the loops (`stop` set, then cancelled after a grace period), the
consumers, the producer and the engine, in that order. Every loop is supervised
(services.common.tasks): it is restarted with backoff if it crashes, never left dead while
/health says all is well. `committed()` wakes the relay (and whatever else `on_committed`
lists) right after a commit, from any thread. `ready()` probes the database, the broker (when
the runtime has a producer) and every watched consumer's stuck consent partitions; a Faust
service also `watch`es its ingestor and adds its own check (`readiness.add`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table

from services.common.db import make_engine, make_session_factory, run_migrations
from services.common.kafka import make_producer
from services.common.kafka_admin import wait_for_broker
from services.common.outbox import OutboxRelay
from services.common.pipeline import BatchIngestor
from services.common.readiness import DatabaseProbe, Readiness, broker_probe, stuck_consent_probe
from services.common.stream_settings import TopicSettings
from services.common.tasks import stop_all, supervise


class ServiceRuntime:
    def __init__(self, settings: TopicSettings, *, service: str, client_id: str) -> None:
        self.settings = settings
        self.service = service
        self.client_id = client_id
        self.engine = make_engine(settings.database_url)  # lazy: nothing connects until first use
        self.sessions = make_session_factory(self.engine)
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.on_committed: list[Callable[[], None]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._consumers: list[Any] = []
        self._watched: list[BatchIngestor] = []
        self._uses_broker = True  # until `running` says otherwise: not ready before it starts
        self.readiness = Readiness(timeout_s=settings.ready_probe_timeout_s)
        self.readiness.add("database", DatabaseProbe(self.engine))
        self.readiness.add("broker", self._broker)
        self.readiness.add("consent", stuck_consent_probe(self._watched, threshold_s=settings.ready_stuck_consent_s))

    @asynccontextmanager
    async def running(self, migrations: str | None, *, producer: bool = True,
                      broker_wait_s: float | None = None) -> AsyncIterator["ServiceRuntime"]:
        """Migrate (if `migrations`), then start the producer (if `producer`; after waiting up
        to `broker_wait_s` for the broker, if given); stop everything on exit."""
        self._stop = asyncio.Event()
        self._uses_broker = producer
        try:
            if migrations is not None:
                await asyncio.to_thread(run_migrations, self.settings.database_url, migrations)
            if producer:
                if broker_wait_s is not None:
                    await wait_for_broker(self.settings.kafka_bootstrap_servers, timeout_s=broker_wait_s)
                started = make_producer(self.settings.kafka_bootstrap_servers, client_id=self.client_id)
                await started.start()
                self.producer = started
            yield self
        finally:
            await stop_all(self._stop, self._tasks)
            self._tasks = []
            for consumer in reversed(self._consumers):
                await consumer.stop()
            self._consumers = []
            if self.producer is not None:
                await self.producer.stop()
            self.producer = self.relay = None
            self.engine.dispose()

    def run(self, name: str, loop: Callable[[asyncio.Event], Awaitable[None]], *, task: str | None = None
            ) -> asyncio.Task:
        """Run `loop(stop)` supervised until the runtime stops; the asyncio task is named
        `<service>-<task>` (`task` defaults to `name`, the name the supervisor logs)."""
        stop = self._stop
        started = asyncio.create_task(supervise(name, lambda: loop(stop), stop),
                                      name=f"{self.service}-{task or name}")
        self._tasks.append(started)
        return started

    def start_relay(self, outbox: Table, **options: Any) -> OutboxRelay:
        """Publish the rows committed to `outbox` (OutboxRelay options: batch_size, ...)."""
        if self.producer is None:
            raise RuntimeError("start the runtime with a producer first")
        self.relay = OutboxRelay(self.sessions, outbox, self.producer, **options)
        self.run("outbox_relay", self.relay.run, task="outbox-relay")
        return self.relay

    async def start_consumer(self, name: str, consumer: Any) -> Any:
        """Start a batch consumer (services.common.batch_consumer) and run it supervised; stopped on exit."""
        await consumer.start()
        self._consumers.append(consumer)
        if isinstance(getattr(consumer, "ingestor", None), BatchIngestor):
            self.watch(consumer.ingestor)
        self.run(name, consumer.run)
        return consumer

    def committed(self) -> None:
        """Rows for the relay (or another worker) were committed: act now, not at next poll.
        Safe from any thread."""
        if self.relay is not None:
            self.relay.notify()
        for wake in self.on_committed:
            wake()

    def watch(self, ingestor: BatchIngestor) -> None:
        """Count `ingestor`'s stuck consent partitions in readiness."""
        if ingestor not in self._watched:
            self._watched.append(ingestor)

    async def ready(self) -> dict[str, str]:
        """Readiness: each failing dependency and why (empty: ready)."""
        return await self.readiness.failing()

    async def _broker(self) -> str | None:
        return await broker_probe(lambda: self.producer)() if self._uses_broker else None
