"""HTTP routes for caseloads: the work addressed to the caller's organisation, and the health
visitors' integrated review list.

| method | path | who | event |
|---|---|---|---|
| GET | /caseload | any practitioner, for their organisation, under consent and on the team; `child_name` only where access.may_see_details says so | - |
| GET | /caseload/integrated-reviews | health_visiting, on the team under consent, children whose details access.may_see_details lets it see | - |
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.common.web import CurrentPrincipal
from services.referrals.entrypoints.deps import DepsDep
from services.referrals.service_layer import caseloads

router = APIRouter(tags=["reviews, EHC, transition, caseloads"])


@router.get("/caseload")
def caseload(
    principal: CurrentPrincipal,
    deps: DepsDep,
    kind: Annotated[Literal["referral", "advice", "ehc", "integrated_review"] | None, Query()] = None,
    overdue_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=caseloads.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    return caseloads.caseload(deps, principal, kind=kind, overdue_only=overdue_only, limit=limit, offset=offset)


@router.get("/caseload/integrated-reviews")
def integrated_review_list(
    principal: CurrentPrincipal,
    deps: DepsDep,
    limit: Annotated[int, Query(ge=1, le=caseloads.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    return caseloads.review_watch(deps, principal, limit=limit, offset=offset)
