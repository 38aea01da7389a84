"""HTTP routes for children: registering, reading and finding them, the key person, concerns,
reports, family support and a parent's own observations. Registering a child already nearing
24 months also announces IntegratedReviewWindowOpened (service_layer.review_window).

| method | path | who | event |
|---|---|---|---|
| POST | /children | a setting, for itself | ChildRegistered |
| GET | /children?name=&limit=&offset= | any practitioner or parent: the children whose team includes it | - |
| POST | /search/children?limit=&offset= | the same, the name in the body: {name} | - |
| GET | /children/{child_id} | the setting, a parent (details); a team member (no personal details) | - |
| PUT | /children/{child_id}/key-person | the child's setting | KeyPersonNamed |
| POST | /children/{child_id}/concerns | the child's setting | ConcernRaised |
| POST | /children/{child_id}/slt-reports | an involved slt_service | SLTReportShared |
| POST | /children/{child_id}/ep-advice | an involved ep_service | EPAdviceShared |
| POST | /children/{child_id}/family-support | a childrens_centre on the team | FamilySupportOffered |
| POST | /children/{child_id}/parent-observations | a parent of the child: {text, seen_on?} | ParentObservationShared (authored by the parent) |
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.common.web import CurrentPrincipal
from services.referrals.domain import commands as c
from services.referrals.entrypoints.deps import DepsDep
from services.referrals.service_layer import children as handlers, children_reads as reads

router = APIRouter(tags=["children and referrals"])


@router.post("/children", status_code=201)
def register_child(cmd: c.RegisterChild, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.register_child(deps, principal, cmd)


@router.get("/children/{child_id}")
def read_child(child_id: UUID, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return reads.read_child(deps, principal, child_id)


@router.get("/children")
def find_children(
    principal: CurrentPrincipal,
    deps: DepsDep,
    name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    return reads.find_children(deps, principal, name=name, limit=limit, offset=offset)


class ChildSearch(BaseModel):
    """The name `GET /children?name=` takes, as a body. A name typed into a search is personal:
    in a query string it would be in the URL, and so in the log of any proxy, mesh or tracer
    between the web and this API; in a POST body it is in none."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1, max_length=100)


@router.post("/search/children")
def search_children(
    search: ChildSearch,
    principal: CurrentPrincipal,
    deps: DepsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    """The children whose team includes the caller whose name matches, as `GET /children`."""
    return reads.find_children(deps, principal, name=search.name, limit=limit, offset=offset)


@router.put("/children/{child_id}/key-person")
def name_key_person(child_id: UUID, cmd: c.NameKeyPerson, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.name_key_person(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/concerns", status_code=201)
def raise_concern(child_id: UUID, cmd: c.RaiseConcern, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.raise_concern(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/slt-reports", status_code=201)
def share_slt_report(child_id: UUID, cmd: c.ShareSLTReport, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.share_slt_report(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/ep-advice", status_code=201)
def share_ep_advice(child_id: UUID, cmd: c.ShareEPAdvice, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.share_ep_advice(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/family-support", status_code=201)
def offer_family_support(child_id: UUID, cmd: c.OfferFamilySupport, principal: CurrentPrincipal, deps: DepsDep) -> dict:
    return handlers.offer_family_support(deps, principal, child_id, cmd)


@router.post("/children/{child_id}/parent-observations", status_code=201)
def share_parent_observation(child_id: UUID, cmd: c.ShareParentObservation, principal: CurrentPrincipal,
                             deps: DepsDep) -> dict:
    return handlers.share_parent_observation(deps, principal, child_id, cmd)
