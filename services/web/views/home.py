"""Home pages: "Your work" for practitioners (their organisation's caseload, overdue first:
DESIGN §4, UI.md), and a parent's starting page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.views.deps import PractitionerPage

router = APIRouter()

KIND_NAMES = {
    "referral": "Referral",
    "advice": "EHC advice request",
    "ehc": "EHC needs assessment",
    "integrated_review": "Integrated review",
}


@router.get("/")
async def your_work(page: PractitionerPage) -> Response:
    assert page.apis is not None
    caseload = await page.apis.referrals.caseload()
    items = sorted(caseload.get("items") or (), key=lambda i: not i.get("overdue"))  # the API's order, overdue first
    invitations = (await page.apis.referrals.invitations()).get("items") or []  # W2a: invitations to answer
    return await page.render("home/your_work.html", items=items, total=caseload.get("total", len(items)),
                             kind_names=KIND_NAMES, invitations=invitations)


# A parent's home, /your-child, is views/parent (W5).
