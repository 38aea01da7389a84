"""services/consent: a child's consents and safeguarding access."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.web.api_clients.base import ApiClient


class ConsentClient(ApiClient):
    service = "consent"

    async def consents(self, child_id: UUID) -> Any:
        return await self._get(f"/children/{child_id}/consents")

    async def grant_consent(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/consents", body)

    async def withdraw_consent(self, child_id: UUID, consent_id: UUID, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/consents/{consent_id}/withdrawal", body or {})

    async def safeguarding_grants(self, child_id: UUID) -> Any:
        return await self._get(f"/children/{child_id}/safeguarding-access")

    async def grant_safeguarding_access(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/safeguarding-access", body)
