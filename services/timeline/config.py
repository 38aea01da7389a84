"""Timeline settings, from the environment (prefix TAC_TIMELINE_), built in bootstrap only.

What it shares with the other stream processor is in services.common.stream_settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas import topics
from services.common.stream_settings import StreamProcessorSettings


class TimelineSettings(StreamProcessorSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_TIMELINE_")

    database_url: str = Field(default="sqlite:///.local/timeline.db", min_length=1)
    port: int = Field(default=8003, ge=1, le=65535)
    audit_topic: str = Field(default=topics.AUDIT.name, min_length=1)
    consumer_group: str = Field(default="tac-timeline", min_length=1, max_length=200)
    datadir: Path = Path(".local/timeline-faust")
    batch_max: int = Field(default=500, ge=1, le=10_000)
    # How long a read waits for the consent copy to apply what is already on the consent topic
    # (a withdrawal answered a moment ago) before answering 503 instead.
    consent_copy_wait_s: float = Field(default=1.0, gt=0, le=10)

    # One outbox relay per database (services.common.outbox): when several timeline processes
    # share one PostgreSQL store, turn it off in all but one.
    run_relay: bool = True

    def written_topics(self) -> set[str]:
        return {self.audit_topic, self.deadletter_topic}
