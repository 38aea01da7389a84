"""Notifications settings, from the environment (prefix TAC_NOTIFICATIONS_), built in bootstrap
only.

Topics, the consumer group and the data directory (Faust's once; kept, unused, so deployments
setting it still start) are settings so tests run against
fresh topics and groups. Retry timings are settings so tests can use small values.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from schemas import topics
from services.common.stream_settings import StreamProcessorSettings
from services.notifications.domain.webhook_urls import WebhookPolicy


class NotificationsSettings(StreamProcessorSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_NOTIFICATIONS_")

    database_url: str = Field(default="sqlite:///.local/notifications.db", min_length=1)
    port: int = Field(default=8004, ge=1, le=65535)

    # Where recipients read the entry: the web interface (services/web), whose
    # /children/{child}/timeline#{event} opens the child's page as the person sees it, at the entry.
    timeline_public_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=AliasChoices("TAC_TIMELINE_PUBLIC_URL", "TAC_NOTIFICATIONS_TIMELINE_PUBLIC_URL"),
    )

    notifications_topic: str = Field(default=topics.NOTIFICATIONS.name, min_length=1)
    consumer_group: str = Field(default="tac-notifications", min_length=1, max_length=200)
    datadir: Path = Path(".local/notifications-faust")
    handler_attempts: int = Field(default=3, ge=1, le=20)

    # E-mail over SMTP. No host: the e-mail channel is off (refused in production).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="TAC <no-reply@tac.invalid>", min_length=3)
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)

    webhook_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # Webhooks to loopback (127.0.0.0/8, ::1, localhost): refused unless this is set, which
    # only development may do (the tests' receiver listens on 127.0.0.1).
    allow_loopback_webhooks: bool = False

    # Delivery: exponential backoff base * 2^(n-1), capped; after max_attempts, NotificationFailed.
    retry_base_s: float = Field(default=2.0, ge=0, le=3600)
    retry_max_s: float = Field(default=600.0, ge=0, le=86_400)
    max_attempts: int = Field(default=6, ge=1, le=50)
    delivery_poll_s: float = Field(default=0.5, gt=0, le=60)
    delivery_concurrency: int = Field(default=32, ge=1, le=256)
    delivery_lease_s: float = Field(default=120.0, gt=0, le=3600)
    # How long a new e-mail or webhook waits before its first attempt, so that a consent
    # withdrawal consumed from the consent topic just after the entry (the two topics are not
    # ordered with each other) withholds it. The decision is taken again at the attempt anyway.
    external_hold_s: float = Field(default=5.0, ge=0, le=3600)
    # How long a delivery round or an inbox read waits for the consent copy to apply what was
    # already published on the topics it is fed from, before giving up for now (a delivery
    # round sends nothing, an inbox read answers 503).
    consent_copy_wait_s: float = Field(default=1.0, gt=0, le=10)

    # Reminders: how often due reminders are looked for, and how late a reminder may still go.
    reminder_interval_s: float = Field(default=60.0, gt=0, le=86_400)
    reminder_late_grace_days: int = Field(default=1, ge=0, le=30)



    def written_topics(self) -> set[str]:
        return {self.notifications_topic, self.deadletter_topic}

    @field_validator("timeline_public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> "NotificationsSettings":
        if self.allow_loopback_webhooks and self.environment != "development":
            raise ValueError("TAC_NOTIFICATIONS_ALLOW_LOOPBACK_WEBHOOKS is for development only")
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("set one of TAC_NOTIFICATIONS_SMTP_SSL (implicit TLS) and _SMTP_STARTTLS, not both")
        if self.environment == "production":
            if not self.smtp_host:
                raise ValueError("TAC_NOTIFICATIONS_SMTP_HOST is required in production")
            if not (self.smtp_ssl or self.smtp_starttls):
                raise ValueError("e-mail must use TLS in production: set TAC_NOTIFICATIONS_SMTP_SSL or _SMTP_STARTTLS")
            if urlparse(self.timeline_public_url).scheme != "https":
                raise ValueError("TAC_TIMELINE_PUBLIC_URL must be an https URL in production")
        return self

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def webhook_policy(self) -> WebhookPolicy:
        """Plain http only in development; loopback only when explicitly allowed there."""
        development = self.environment == "development"
        return WebhookPolicy(allow_http=development, allow_loopback=development and self.allow_loopback_webhooks)
