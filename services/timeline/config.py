"""Timeline settings, from the environment (prefix TAC_TIMELINE_), built in bootstrap only.

Topics and the consumer group are settings so tests and benchmarks can run against fresh
topics and groups; the Faust data directory is a setting so concurrent runs never share one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from schemas import topics
from services.common.settings import BaseServiceSettings


class TimelineSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_TIMELINE_")

    database_url: str = Field(default="sqlite:///.local/timeline.db", min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8003, ge=1, le=65535)

    referrals_topic: str = Field(default=topics.REFERRALS.name, min_length=1)
    consent_topic: str = Field(default=topics.CONSENT.name, min_length=1)
    audit_topic: str = Field(default=topics.AUDIT.name, min_length=1)
    deadletter_topic: str = Field(default=topics.DEADLETTER.name, min_length=1)
    consumer_group: str = Field(default="tac-timeline", min_length=1, max_length=200)
    datadir: Path = Path(".local/timeline-faust")

    # Batching: one transaction per batch of up to `batch_max` events, or whatever arrived
    # within `batch_within_s`; acks after the commit, offsets committed on Faust's timer.
    batch_max: int = Field(default=500, ge=1, le=10_000)
    batch_within_s: float = Field(default=0.1, gt=0, le=10)
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    # How long the broker waits for a silent member before handing its partitions to others;
    # a restarted worker rejoins after at most this long (Kafka's floor is 6 s).
    session_timeout_s: float = Field(default=30.0, ge=6, le=300)

    # One outbox relay per database (services.common.outbox): when several timeline processes
    # share one PostgreSQL store, turn it off in all but one.
    run_relay: bool = True
    relay_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_poll_interval_s: float = Field(default=0.2, gt=0, le=60)

    run_migrations: bool = True
    broker_wait_s: float = Field(default=60.0, gt=0, le=600)

    @model_validator(mode="after")
    def _distinct_topics(self) -> "TimelineSettings":
        inputs = {self.referrals_topic, self.consent_topic}
        if len(inputs) != 2:
            raise ValueError("referrals_topic and consent_topic must differ")
        if inputs & {self.audit_topic, self.deadletter_topic}:
            raise ValueError("the timeline must not consume the topics it writes to (audit, dead-letter)")
        return self
