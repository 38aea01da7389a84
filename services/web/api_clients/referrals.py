"""services/referrals: children, referrals, the team, casework and caseloads."""

from __future__ import annotations

from typing import Any

from services.web.api_clients.base import ApiClient, endpoint


class ReferralsClient(ApiClient):
    service = "referrals"

    async def caseload(self, *, kind: str | None = None, overdue_only: bool = False,
                       limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """The caller's organisation's open work, overdue first: `{"items": [...], "total", ...}`."""
        return await self._get("/caseload", {"kind": kind, "overdue_only": str(overdue_only).lower(),
                                             "limit": limit, "offset": offset})

    async def integrated_reviews(self, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return await self._get("/caseload/integrated-reviews", {"limit": limit, "offset": offset})

    child = endpoint("GET", "/children/{child_id}")
    register_child = endpoint("POST", "/children")
    referral = endpoint("GET", "/referrals/{referral_id}")

    # --- casework (W2b): reports, integrated reviews, EHC needs assessments, transition ---

    share_slt_report = endpoint("POST", "/children/{child_id}/slt-reports")
    share_ep_advice = endpoint("POST", "/children/{child_id}/ep-advice")
    schedule_review = endpoint("POST", "/children/{child_id}/integrated-reviews")
    complete_review = endpoint("POST", "/integrated-reviews/{review_id}/complete")
    request_ehc = endpoint("POST", "/children/{child_id}/ehc-requests")
    ehc_request = endpoint("GET", "/ehc-requests/{request_id}")
    start_ehc = endpoint("POST", "/ehc-requests/{request_id}/start")
    decline_ehc = endpoint("POST", "/ehc-requests/{request_id}/decline")
    request_advice = endpoint("POST", "/ehc-requests/{request_id}/advice-requests")
    submit_advice = endpoint("POST", "/ehc-advice/{advice_id}/submit")
    issue_draft_plan = endpoint("POST", "/ehc-requests/{request_id}/draft-plan")
    finalise_plan = endpoint("POST", "/ehc-requests/{request_id}/final-plan")
    plan_transition = endpoint("POST", "/children/{child_id}/transition")
    complete_transition = endpoint("POST", "/children/{child_id}/transition/complete")

    # -- children, the team, referrals (W2a: views/children, consent, referrals, team) --------
    async def find_children(self, *, name: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        if name:  # posted: a name typed into a search goes in no URL, between services either
            return await self._request("POST", "/search/children", params={"limit": limit, "offset": offset},
                                       json={"name": name})
        return await self._get("/children", {"limit": limit, "offset": offset})

    team = endpoint("GET", "/children/{child_id}/team")
    name_key_person = endpoint("PUT", "/children/{child_id}/key-person")
    raise_concern = endpoint("POST", "/children/{child_id}/concerns")
    make_referral = endpoint("POST", "/children/{child_id}/referrals")
    accept_referral = endpoint("POST", "/referrals/{referral_id}/accept")
    decline_referral = endpoint("POST", "/referrals/{referral_id}/decline")
    invite = endpoint("POST", "/children/{child_id}/invitations")

    async def invitations(self) -> dict[str, Any]:
        return await self._get("/invitations")

    accept_invitation = endpoint("POST", "/invitations/{invitation_id}/accept")
    decline_invitation = endpoint("POST", "/invitations/{invitation_id}/decline")

    # -- a parent's own pages (W5: views/parent) ----------------------------------------------
    add_team_member = endpoint("POST", "/children/{child_id}/team")
    remove_team_member = endpoint("POST", "/children/{child_id}/team/{organisation_id}/remove")
    share_parent_observation = endpoint("POST", "/children/{child_id}/parent-observations")
    give_parent_views = endpoint("POST", "/ehc-requests/{request_id}/parent-views")
