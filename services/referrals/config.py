"""Configuration of the referrals service, from the environment only (prefix TAC_REFERRALS_).

    TAC_REFERRALS_DATABASE_URL      default sqlite:///.local/referrals.db (PostgreSQL in production)
    TAC_REFERRALS_HOST / _PORT      where `python -m services.referrals` listens (127.0.0.1:8001)
    TAC_REFERRALS_WAITING_TARGETS   JSON object, agency -> days, e.g. {"slt_service": 90}
                                    (overrides the defaults in services.referrals.domain.clock)
    TAC_REFERRALS_REVIEW_WINDOW_INTERVAL_S  how often to look for children nearing 24 months
                                    (IntegratedReviewWindowOpened), default 3600
    TAC_REFERRALS_CONSENT_CATCH_UP_S  how long a write needing a consent waits for the consent
                                    copy to catch up before a 409, default 2 (0: no wait)
    TAC_REFERRALS_INVITATION_EXPIRY_DAYS  days an invitation to a child's team may be accepted, default 14
    plus the shared ones of services.common.settings (KAFKA_BOOTSTRAP_SERVERS, TAC_JWT_*,
                                    TAC_DIRECTORY_PATH, ...).
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from schemas.vocabulary import Agency
from services.common.stream_settings import TopicSettings
from services.referrals.domain.clock import DEFAULT_WAITING_TARGET_DAYS, WaitingTargets


class ReferralsSettings(TopicSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_REFERRALS_")

    database_url: str = Field(default="sqlite:///.local/referrals.db", min_length=1)
    port: int = Field(default=8001, ge=1, le=65535)
    waiting_targets: dict[Agency, int] = Field(default_factory=dict)
    default_waiting_target_days: int = Field(default=42, ge=1, le=3650)
    consent_group_id: str = Field(default="tac-referrals-consent", min_length=1)
    run_consent_consumer: bool = True
    run_outbox_relay: bool = True
    run_review_window_task: bool = True
    review_window_interval_s: float = Field(default=3600.0, gt=0, le=86_400)
    consent_catch_up_s: float = Field(default=2.0, ge=0, le=30)
    invitation_expiry_days: int = Field(default=14, ge=1, le=365)
    # A removal from a child's team (or an organisation leaving it) is answered once its
    # TeamMemberLeft is on the topic (the broker acknowledged it), so the timeline's next read,
    # which waits for what is on the child's partition, no longer shows that organisation what
    # its place on the team let it see; at most this long (the broker away: answered anyway,
    # published when it is back). Only where this process runs a relay (run_outbox_relay).
    team_departure_publish_wait_s: float = Field(default=2.0, ge=0, le=30)

    @field_validator("waiting_targets")
    @classmethod
    def _positive_days(cls, value: dict[Agency, int]) -> dict[Agency, int]:
        for agency, days in value.items():
            if days < 1:
                raise ValueError(f"waiting target for {agency} must be at least 1 day")
        return value

    def targets(self) -> WaitingTargets:
        merged = {**DEFAULT_WAITING_TARGET_DAYS, **{str(k): v for k, v in self.waiting_targets.items()}}
        return WaitingTargets(merged, default_days=self.default_waiting_target_days)
