"""services/notifications: the caller's in-app inbox and how they are told."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.web.api_clients.base import ApiClient

# The inbox API pages at most 200 items; past that the header says "200+".
UNREAD_COUNT_CAP = 200


class NotificationsClient(ApiClient):
    service = "notifications"

    async def inbox(self, *, unread_only: bool = False, limit: int = 50,
                    before: datetime | None = None) -> dict[str, Any]:
        return await self._get("/inbox", {"unread_only": str(unread_only).lower(), "limit": limit,
                                          "before": before.isoformat() if before else None})

    async def unread_count(self) -> int:
        """How many unread notifications (at most UNREAD_COUNT_CAP)."""
        page = await self.inbox(unread_only=True, limit=UNREAD_COUNT_CAP)
        return len(page.get("items") or ())

    async def mark_read(self, notification_id: UUID) -> dict[str, Any]:
        return await self._post(f"/inbox/{notification_id}/read")

    async def subscription(self) -> dict[str, Any]:
        return await self._get("/subscriptions/me")

    async def subscribe(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._put("/subscriptions/me", body)
