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

    # --- casework (W2b): reports, integrated reviews, EHC needs assessments, transition ---

    async def share_slt_report(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/slt-reports", body)

    async def share_ep_advice(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/ep-advice", body)

    async def schedule_review(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/integrated-reviews", body)

    async def complete_review(self, review_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/integrated-reviews/{review_id}/complete", body)

    async def request_ehc(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/ehc-requests", body)

    async def ehc_request(self, request_id: UUID) -> dict[str, Any]:
        return await self._get(f"/ehc-requests/{request_id}")

    async def start_ehc(self, request_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-requests/{request_id}/start", body)

    async def decline_ehc(self, request_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-requests/{request_id}/decline", body)

    async def request_advice(self, request_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-requests/{request_id}/advice-requests", body)

    async def submit_advice(self, advice_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-advice/{advice_id}/submit", body)

    async def issue_draft_plan(self, request_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-requests/{request_id}/draft-plan", body)

    async def finalise_plan(self, request_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-requests/{request_id}/final-plan", body)

    async def plan_transition(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/transition", body)

    async def complete_transition(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/transition/complete", body)

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

    # -- a parent's own pages (W5: views/parent) ----------------------------------------------
    async def add_team_member(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/team", body)

    async def remove_team_member(self, child_id: UUID, organisation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/team/{organisation_id}/remove", body)

    async def share_parent_observation(self, child_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/children/{child_id}/parent-observations", body)

    async def give_parent_views(self, request_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"/ehc-requests/{request_id}/parent-views", body)
