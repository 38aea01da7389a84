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

    # -- children, the team, referrals (W2a: views/children, consent, referrals, team) --------
    async def find_children(self, *, name: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return await self._get("/children", {"name": name or None, "limit": limit, "offset": offset})

    async def team(self, child_id: UUID) -> dict[str, Any]:
        return await self._get(f"/children/{child_id}/team")

    async def name_key_person(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._put(f"/children/{child_id}/key-person", body)

    async def raise_concern(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/concerns", body)

    async def make_referral(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/referrals", body)

    async def accept_referral(self, referral_id: UUID) -> dict[str, Any]:
        return await self._post(f"/referrals/{referral_id}/accept")

    async def decline_referral(self, referral_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/referrals/{referral_id}/decline", body)

    async def invite(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/invitations", body)

    async def invitations(self) -> dict[str, Any]:
        return await self._get("/invitations")

    async def accept_invitation(self, invitation_id: UUID) -> dict[str, Any]:
        return await self._post(f"/invitations/{invitation_id}/accept")

    async def decline_invitation(self, invitation_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/invitations/{invitation_id}/decline", body)
