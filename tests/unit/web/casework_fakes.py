"""Fakes for the casework pages' tests (W2b: reviews, reports, EHC, transition, safeguarding):
the shared fake referrals and consent clients with the casework methods, answering from
`answers` or raising what `raises` names, every call recorded in `calls`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.web.fakes import FakeConsent, FakeReferrals

CHILD_ID = "6f1c2a4e-1111-4a4a-8a8a-000000000001"
REQUEST_ID = "6f1c2a4e-2222-4a4a-8a8a-000000000002"
REVIEW_ID = "6f1c2a4e-3333-4a4a-8a8a-000000000003"
ADVICE_ID = "6f1c2a4e-4444-4a4a-8a8a-000000000004"

AMARA = {"child_id": CHILD_ID, "details_hidden": False, "given_name": "Amara", "family_name": "Okoro",
         "setting_organisation_id": "sunflower-nursery", "setting_organisation_name": "Sunflower Nursery",
         "due_dates": [{"kind": "reception_place_from", "due_on": "2028-09-01", "reference": "x"}], "team": []}
HIDDEN = {"child_id": CHILD_ID, "details_hidden": True, "setting_organisation_id": "sunflower-nursery",
          "setting_organisation_name": "Sunflower Nursery", "team": []}

_METHODS = ("share_slt_report", "share_ep_advice", "schedule_review", "complete_review", "request_ehc", "start_ehc",
            "decline_ehc", "request_advice", "submit_advice", "issue_draft_plan", "finalise_plan", "plan_transition",
            "complete_transition", "integrated_reviews", "ehc_request", "child")


def _recorder(name: str):
    async def method(self, *args: Any, **kwargs: Any) -> Any:
        self._call(name, args[-1] if args else kwargs)
        if name in self.raises:
            raise self.raises[name]
        return self.answers.get(name, {})
    method.__name__ = name
    return method


class FakeCasework(FakeReferrals):
    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, Any] = {"child": dict(AMARA)}
        self.raises: dict[str, Exception] = {}
        self.caseloads: dict[str | None, list[dict[str, Any]]] = {}

    async def caseload(self, **params: Any) -> dict[str, Any]:
        self._call("caseload", params)
        if "caseload" in self.raises:
            raise self.raises["caseload"]
        items = self.caseloads.get(params.get("kind"), self.items)
        return {"items": list(items), "total": len(items), "limit": 50, "offset": 0}

    def sent(self, name: str) -> list[Any]:
        return [arg for called, arg in self.calls if called == name]


for _name in _METHODS:
    setattr(FakeCasework, _name, _recorder(_name))


class FakeSafeguarding(FakeConsent):
    def __init__(self) -> None:
        super().__init__()
        self.granted: list[dict[str, Any]] = []
        self.refuse_with: Exception | None = None

    async def grant_safeguarding_access(self, child_id: Any, body: dict[str, Any]) -> dict[str, Any]:
        self._call("grant_safeguarding_access", body)
        if self.refuse_with is not None:
            raise self.refuse_with
        self.granted.append(body)
        return {"grant_id": "g1", "expires_at": "2027-01-18T10:00:00+00:00"}


@pytest.fixture
def cw(web):
    """The `web` of tests/unit/web/conftest.py with the casework fakes swapped in."""
    web.apis.referrals = FakeCasework()
    web.apis.consent = FakeSafeguarding()
    return web


def csrf(web, path: str) -> str:
    return web.csrf(path)


def date_fields(name: str, day: int, month: int, year: int) -> dict[str, str]:
    return {f"{name}_day": str(day), f"{name}_month": str(month), f"{name}_year": str(year)}
