"""The settings services share: the topics every service reads (TopicSettings), and what every
stream processor of the referrals and consent topics adds (the timeline, notifications):
batching, the Faust member's session, the outbox relay.

Topics and the consumer group are settings so tests and benchmarks can run against fresh
topics and groups; the Faust data directory is one so concurrent runs never share one. A
subclass names its own group, data directory, batch size and the topics it writes to.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from schemas import topics
from services.common.settings import BaseServiceSettings


class TopicSettings(BaseServiceSettings):
    """The topics a service reads and parks in, and how its readiness judges a consumer of them.
    Topic names are the contracts'; tests and benchmarks point a service at fresh topics."""

    host: str = "127.0.0.1"
    referrals_topic: str = Field(default=topics.REFERRALS.name, min_length=1)
    consent_topic: str = Field(default=topics.CONSENT.name, min_length=1)
    deadletter_topic: str = Field(default=topics.DEADLETTER.name, min_length=1)

    # /ready (services.common.readiness): 503 once a consent event has held its partition this
    # long (a blip of retries is not worth taking the instance out of service), and the time
    # each dependency probe may take.
    ready_stuck_consent_s: float = Field(default=30.0, ge=0, le=3600)
    ready_probe_timeout_s: float = Field(default=2.0, gt=0, le=30)


class StreamProcessorSettings(TopicSettings):
    consumer_group: str = Field(min_length=1, max_length=200)
    datadir: Path

    # Batching: one transaction per batch of up to `batch_max` events, or whatever arrived
    # within `batch_within_s`; acks after the commit, offsets committed on Faust's timer.
    batch_max: int = Field(default=100, ge=1, le=10_000)
    batch_within_s: float = Field(default=0.1, gt=0, le=10)
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    # How long the broker waits for a silent member before handing its partitions to others;
    # a restarted worker rejoins after at most this long (Kafka's floor is 6 s).
    session_timeout_s: float = Field(default=30.0, ge=6, le=300)

    relay_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_poll_interval_s: float = Field(default=0.2, gt=0, le=60)

    run_migrations: bool = True
    broker_wait_s: float = Field(default=60.0, gt=0, le=600)

    def written_topics(self) -> set[str]:
        """The topics this service writes to (never consumed by it: no feedback loop)."""
        return {self.deadletter_topic}

    @model_validator(mode="after")
    def _distinct_topics(self) -> "StreamProcessorSettings":
        consumed = {self.referrals_topic, self.consent_topic}
        if len(consumed) != 2:
            raise ValueError("referrals_topic and consent_topic must differ")
        if consumed & self.written_topics():
            written = ", ".join(sorted(self.written_topics()))
            raise ValueError(f"the service must not consume the topics it writes to ({written})")
        return self
