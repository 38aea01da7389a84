"""Fake API clients: the same methods as services.web.api_clients, answering from memory or
raising what a test sets. Swapped in whole through bootstrap.build_app(apis=...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.web.api_clients import Apis, NotFound


class _Fake:
    def __init__(self) -> None:
        self.fail_with: Exception | None = None
        self.tokens: list[str | None] = []
        self.token: str | None = None
        self.calls: list[tuple[str, Any]] = []

    def as_person(self, token: str):
        self.token = token
        self.tokens.append(token)
        return self

    def _call(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        if self.fail_with is not None:
            raise self.fail_with


class FakeReferrals(_Fake):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []

    async def caseload(self, **params: Any) -> dict[str, Any]:
        self._call("caseload", params)
        return {"items": list(self.items), "total": len(self.items), "limit": 50, "offset": 0}

    async def invitations(self) -> dict[str, Any]:  # W2a: "Your work" lists them
        self._call("invitations")
        return {"organisation_id": None, "items": list(getattr(self, "pending_invitations", []))}

    async def find_children(self, **params: Any) -> dict[str, Any]:  # W5: a parent's /your-child
        self._call("find_children", params)
        items = list(getattr(self, "children", []))
        return {"items": items, "total": len(items), "limit": 50, "offset": 0}


class FakeConsent(_Fake):
    pass


class FakeTimeline(_Fake):
    pass


class FakeNotifications(_Fake):
    def __init__(self) -> None:
        super().__init__()
        self.unread = 0
        self.items: list[dict[str, Any]] = []  # the inbox, newest first, as the API gives it
        self.subscribed: dict[str, Any] | None = None
        self.subscribe_fails_with: Exception | None = None

    async def unread_count(self) -> int:
        self._call("unread_count")
        return self.unread

    async def inbox(self, **params: Any) -> dict[str, Any]:
        self._call("inbox", params)
        return {"items": list(self.items), "next_before": getattr(self, "next_before", None)}

    async def mark_read(self, notification_id: Any) -> dict[str, Any]:
        """The API's answer: the item, now read; 404 for one that is not the caller's."""
        self._call("mark_read", notification_id)
        for item in self.items:
            if item["notification_id"] == str(notification_id):
                item["read_at"] = item["read_at"] or "2026-12-03T10:00:00+00:00"
                return item
        raise NotFound()

    async def subscription(self) -> dict[str, Any]:
        self._call("subscription")
        return self.subscribed or {}

    async def subscribe(self, body: dict[str, Any]) -> dict[str, Any]:
        self._call("subscribe", body)
        if self.subscribe_fails_with is not None:
            raise self.subscribe_fails_with
        self.subscribed = body
        return body


@dataclass
class FakeApis:
    referrals: FakeReferrals = field(default_factory=FakeReferrals)
    consent: FakeConsent = field(default_factory=FakeConsent)
    timeline: FakeTimeline = field(default_factory=FakeTimeline)
    notifications: FakeNotifications = field(default_factory=FakeNotifications)

    def as_person(self, token: str) -> "FakeApis":
        for client in (self.referrals, self.consent, self.timeline, self.notifications):
            client.as_person(token)
        return self

    def as_apis(self) -> Apis:
        return self  # type: ignore[return-value]
