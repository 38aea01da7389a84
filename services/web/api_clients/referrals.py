"""services/referrals: children, referrals, the team, casework and caseloads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.web.api_clients.base import ApiClient


class ReferralsClient(ApiClient):
    service = "referrals"

    async def caseload(self, *, kind: str | None = None, overdue_only: bool = False,
                       limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """The caller's organisation's open work, overdue first: `{"items": [...], "total", ...}`."""
        return await self._get("/caseload", {"kind": kind, "overdue_only": str(overdue_only).lower(),
                                             "limit": limit, "offset": offset})

    async def integrated_reviews(self, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return await self._get("/caseload/integrated-reviews", {"limit": limit, "offset": offset})

    async def child(self, child_id: UUID) -> dict[str, Any]:
        return await self._get(f"/children/{child_id}")

    async def register_child(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post("/children", body)

    async def referral(self, referral_id: UUID) -> dict[str, Any]:
        return await self._get(f"/referrals/{referral_id}")
