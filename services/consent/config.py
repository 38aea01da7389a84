"""Configuration of the consent service, from the environment only (prefix TAC_CONSENT_).

    TAC_CONSENT_DATABASE_URL        default sqlite:///.local/consent.db (PostgreSQL in production)
    TAC_CONSENT_HOST / _PORT        where `python -m services.consent` listens (127.0.0.1:8002)
    TAC_CONSENT_EXPIRY_INTERVAL_S   how often the expiry task looks for due expiries/reminders
    TAC_CONSENT_MAX_CONSENT_MONTHS  a consent's expires_at at most this many months after valid_from (24)
    TAC_DIRECTORY_PATH              the organisation directory (shared; recipients are checked against it)
    plus the shared ones of services.common.settings (KAFKA_BOOTSTRAP_SERVERS, TAC_JWT_*, ...).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.stream_settings import TopicSettings


class ConsentSettings(TopicSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_CONSENT_")

    database_url: str = Field(default="sqlite:///.local/consent.db", min_length=1)
    port: int = Field(default=8002, ge=1, le=65535)
    expiry_interval_s: float = Field(default=60.0, gt=0, le=86400)
    max_consent_months: int = Field(default=24, ge=1, le=120)
    children_group_id: str = Field(default="tac-consent-children", min_length=1)
    run_outbox_relay: bool = True
    run_children_consumer: bool = True
    run_expiry_task: bool = True
    # A withdrawal is answered once its event is on the topic (the broker acknowledged it), so
    # the timeline's next read, which waits for what is on the topic, no longer shows what it
    # withdrew; at most this long (the broker away: answered anyway, published when it is back).
    # Only where this process runs a relay (run_outbox_relay): a test without one does not wait.
    withdrawal_publish_wait_s: float = Field(default=2.0, ge=0, le=30)
