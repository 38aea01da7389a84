"""One client per backend service (STYLE.md 9a), and `Apis`, the four together.

    apis = Apis.connect(http, settings)          # in bootstrap: one connection pool
    mine = apis.as_person(token)                 # per request: calls carry the person's token
    await mine.referrals.caseload()

Tests swap in fakes with the same methods (tests/unit/web/fakes.py)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.web.api_clients.consent import ConsentClient
from services.web.api_clients.errors import (
    ApiError, ApiValidationError, Conflict, Forbidden, NotAuthenticated, NotFound, ServiceUnavailable,
)
from services.web.api_clients.notifications import NotificationsClient
from services.web.api_clients.referrals import ReferralsClient
from services.web.api_clients.timeline import TimelineClient
from services.web.config import WebSettings

__all__ = [
    "Apis", "ApiError", "ApiValidationError", "Conflict", "ConsentClient", "Forbidden", "NotAuthenticated",
    "NotFound", "NotificationsClient", "ReferralsClient", "ServiceUnavailable", "TimelineClient",
]


@dataclass(frozen=True)
class Apis:
    referrals: ReferralsClient
    consent: ConsentClient
    timeline: TimelineClient
    notifications: NotificationsClient

    @classmethod
    def connect(cls, http: httpx.AsyncClient, settings: WebSettings) -> "Apis":
        return cls(
            referrals=ReferralsClient(http, settings.referrals_url),
            consent=ConsentClient(http, settings.consent_url),
            timeline=TimelineClient(http, settings.timeline_url),
            notifications=NotificationsClient(http, settings.notifications_url),
        )

    def as_person(self, token: str) -> "Apis":
        return Apis(
            referrals=self.referrals.as_person(token),
            consent=self.consent.as_person(token),
            timeline=self.timeline.as_person(token),
            notifications=self.notifications.as_person(token),
        )
