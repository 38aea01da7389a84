"""services/timeline: a child's timeline as the caller may see it, and its access log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.web.api_clients.base import ApiClient


class TimelineClient(ApiClient):
    service = "timeline"

    async def timeline(self, child_id: UUID, **params: Any) -> dict[str, Any]:
        return await self._get(f"/children/{child_id}/timeline", params)

    async def access_log(self, child_id: UUID, **params: Any) -> dict[str, Any]:
        return await self._get(f"/children/{child_id}/access-log", params)
