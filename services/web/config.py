"""Configuration of the web interface, from the environment only (prefix TAC_WEB_).

    TAC_WEB_HOST / _PORT                  where `python -m services.web` listens (127.0.0.1:8000)
    TAC_WEB_REFERRALS_URL                 the referrals API (http://127.0.0.1:8001)
    TAC_WEB_CONSENT_URL                   the consent API (http://127.0.0.1:8002)
    TAC_WEB_TIMELINE_URL                  the timeline API (http://127.0.0.1:8003)
    TAC_WEB_NOTIFICATIONS_URL             the notifications API (http://127.0.0.1:8004)
    TAC_WEB_API_TIMEOUT_S                 per call to an API (10 s)
    TAC_WEB_SESSION_SECRET                signs the session cookie; the development default is
                                          refused in any other environment
    TAC_WEB_IDLE_TIMEOUT_MINUTES          a session unused this long is ended (30)
    TAC_WEB_SESSION_MAX_AGE_HOURS         the cookie's lifetime, however busy (8)
    TAC_WEB_OIDC_ISSUER                   the identity provider (required outside development;
                                          https in production)
    TAC_WEB_OIDC_CLIENT_ID / _SECRET      this service's client at the provider (idem)
    TAC_WEB_PUBLIC_URL                    https://... the address people use, for the OIDC
                                          redirect URI behind a proxy (optional)
    TAC_WEB_DEV_PARENT_CHILDREN           development: comma-separated child ids the dev
                                          sign-in puts in a parent's token
    TAC_WEB_DEV_PARENT_CHILDREN_FILE      development: a file of child ids, one a line, read at
                                          each parent's dev sign-in (added to the above; a
                                          missing file is no children)
plus the shared ones of services.common.settings (TAC_ENVIRONMENT, TAC_JWT_*, TAC_LOG_LEVEL).
In production the access token from the provider is verified with TAC_JWT_JWKS_URL, like the
APIs do, to learn who signed in.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from uuid import UUID

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings

DEV_SESSION_SECRET = "tac-web-development-session-secret-not-for-use-anywhere-else"


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


class WebSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_WEB_")

    # The web service owns no store (DESIGN §4): present only because every service's settings have it.
    database_url: str | None = None  # type: ignore[assignment]
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    referrals_url: str = "http://127.0.0.1:8001"
    consent_url: str = "http://127.0.0.1:8002"
    timeline_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    api_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # `Server-Timing: api;dur=..., app;dur=...` on every answer (timing.py); for benchmarks.
    server_timing: bool = False

    session_secret: str = Field(default=DEV_SESSION_SECRET, min_length=32)
    idle_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_age_hours: int = Field(default=8, ge=1, le=24)

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    public_url: str | None = None

    dev_parent_children: str = ""
    dev_parent_children_file: Path | None = None

    @field_validator("referrals_url", "consent_url", "timeline_url", "notifications_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("oidc_issuer", "public_url")
    @classmethod
    def _optional_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("dev_parent_children")
    @classmethod
    def _child_ids(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                UUID(part)
            except ValueError:
                raise ValueError("must be comma-separated child ids (UUIDs)") from None
        return value

    @model_validator(mode="after")
    def _real_secrets_and_provider_outside_development(self) -> "WebSettings":
        if self.environment == "development":
            return self
        if self.session_secret == DEV_SESSION_SECRET:
            raise ValueError("TAC_WEB_SESSION_SECRET is the development default: set a long random secret")
        # Outside development the only sign-in is the identity provider's.
        missing = [f"TAC_WEB_{n.upper()}" for n in ("oidc_issuer", "oidc_client_id", "oidc_client_secret")
                   if not getattr(self, n)]
        if missing:
            raise ValueError(f"sign-in needs an identity provider: set {', '.join(missing)}")
        if self.environment == "production":
            if urlparse(self.oidc_issuer or "").scheme != "https":
                raise ValueError("TAC_WEB_OIDC_ISSUER must be an https URL in production")
        return self

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def parent_children(self) -> tuple[UUID, ...]:
        return tuple(UUID(p.strip()) for p in self.dev_parent_children.split(",") if p.strip())

    def parent_children_now(self) -> tuple[UUID, ...]:
        """Development: the children a parent's token carries at this sign-in — the fixed list
        plus the file's ids (re-read each time: the demo and tests register the child first).
        Lines that are not child ids are skipped."""
        found = list(self.parent_children)
        path = self.dev_parent_children_file
        if path is not None:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (FileNotFoundError, NotADirectoryError):
                lines = []
            for line in lines:
                try:
                    child = UUID(line.strip())
                except ValueError:
                    continue
                if child not in found:
                    found.append(child)
        return tuple(found)
