"""The Faust app and its one agent: raw bytes from tac.referrals.v1 and tac.consent.v1, in
batches, through the consumer pipeline into the timeline store (services.common.streams
says how batches are acked only after their transaction commits)."""

from __future__ import annotations

import faust
from prometheus_client import Counter, Gauge, Histogram

from services.common.pipeline import BatchIngestor
from services.common.streams import BatchReport, add_batch_agent, make_faust_app, record_lag
from services.timeline.config import TimelineSettings
from services.timeline.domain.entries import Source

AGENT_NAME = "timeline-ingest"

EVENTS = Counter("tac_timeline_events_total", "Events consumed by the timeline, by outcome", ["outcome"])
BATCH_SECONDS = Histogram("tac_timeline_batch_seconds", "Time to store (or park) one batch and ack it")
LAG = Gauge("tac_timeline_consumer_lag", "Messages behind the partition's end after the last batch", ["topic", "partition"])


def build_faust_app(settings: TimelineSettings, ingestor: BatchIngestor) -> faust.App:
    """Builds (but does not start or connect) the Faust app."""
    app = make_faust_app(settings)

    def measure(batch: BatchReport) -> None:
        BATCH_SECONDS.observe(batch.seconds)
        for outcome, count in (("stored", batch.stored), ("duplicate", batch.duplicates),
                               ("dead_lettered", batch.dead_lettered)):
            EVENTS.labels(outcome).inc(count)
        record_lag(app, batch.events, LAG)

    add_batch_agent(
        app, name=AGENT_NAME, ingestor=ingestor, batch_max=settings.batch_max, within_s=settings.batch_within_s,
        topics={settings.referrals_topic: Source.REFERRALS, settings.consent_topic: Source.CONSENT}, on_batch=measure,
    )
    return app
