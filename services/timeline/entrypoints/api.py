"""HTTP routes: a child's timeline as the caller may see it, and the child's access log.

Thin: validate the request, build the Viewer from the verified token, call the handler in a
worker thread (it reads and writes the database), shape the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

from services.common.auth import Principal
from services.common.clock import Clock, utc_now
from services.common.consent_freshness import CATCHING_UP, CATCHING_UP_RESPONSE, ConsentCopyFreshness, fresh_enough
from services.common.directory import Directory
from services.common.errors import Invalid
from services.common.logging import get_correlation_id
from services.common.web import CurrentPrincipal
from consent_policy.decision import Viewer
from services.timeline.domain.reading import AccessRecord, Cursor
from services.timeline.service_layer.reads import MAX_PAGE, read_access_log, read_timeline
from services.timeline.adapters.shown_as import page_json
from services.timeline.adapters.store import TimelineStore

class Person(BaseModel):
    practitioner_id: str
    organisation_id: str | None
    agency: str
    role: str
    organisation_name: str | None = None  # from the organisation directory; None for a parent

    @classmethod
    def named(cls, directory: Directory, practitioner_id: str, organisation_id: str | None, agency: str,
              role: str) -> "Person":
        return cls(practitioner_id=practitioner_id, organisation_id=organisation_id,
                   organisation_name=directory.name_of(organisation_id), agency=agency, role=role)


class EntryOut(BaseModel):
    """An entry as shown: what services.timeline.adapters.shown_as renders when the entry is
    stored (in this order), then the author's organisation name and the basis, spliced in at
    read time."""

    event_id: UUID
    type: str
    category: str
    occurred_at: datetime
    summary: str
    data: dict[str, Any]
    author: Person
    basis: str


class TimelineOut(BaseModel):
    child_id: UUID
    entries: list[EntryOut]
    next_before: str | None = None


class ViewOut(BaseModel):
    view_id: UUID
    viewer: Person
    viewed_at: datetime
    entries_shown: int
    bases: dict[str, int]

    @classmethod
    def of(cls, record: AccessRecord, directory: Directory) -> "ViewOut":
        return cls(
            view_id=record.view_id,
            viewer=Person.named(directory, record.viewer_practitioner_id, record.viewer_organisation_id,
                                record.viewer_agency, record.viewer_role),
            viewed_at=record.viewed_at,
            entries_shown=record.entries_shown,
            bases=record.basis_counts,
        )


class AccessLogOut(BaseModel):
    child_id: UUID
    views: list[ViewOut]


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        practitioner_id=principal.practitioner_id,
        organisation_id=principal.organisation_id,
        agency=principal.agency,
        children=principal.children,
    )


def build_router(
    store: TimelineStore, *, audit_topic: str, on_view_recorded: Callable[[], None], clock: Clock = utc_now,
    directory: Directory = Directory.of(), freshness: ConsentCopyFreshness | None = None,
    freshness_wait_s: float = 1.0,
) -> APIRouter:
    """`freshness`: the gate a read passes before deciding what to show (the service always has
    one; None only for the routes over a store not fed from topics)."""
    router = APIRouter(tags=["timeline"])

    @router.get("/children/{child_id}/timeline", response_model=TimelineOut, responses=CATCHING_UP_RESPONSE)
    async def timeline(
        child_id: UUID,
        principal: CurrentPrincipal,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="entries per page")] = 100,
        before: Annotated[str | None, Query(max_length=200, description="next_before of the previous page")] = None,
    ) -> TimelineOut:
        """The entries the caller may see, newest first, each with the basis it is shown on.
        Entries the caller may not see are absent; nothing says how many there are."""
        cursor = None
        if before is not None:
            try:
                cursor = Cursor.decode(before)
            except ValueError as exc:
                raise Invalid(str(exc), field="before") from None
        # Not before the copy holds what the consent topic already holds, and the child's
        # partition of the referrals topic (its team): a withdrawal or a removal from the team
        # answered a moment ago is in force for this read, or the read answers 503.
        if not await fresh_enough(freshness, freshness_wait_s, child=child_id):
            raise HTTPException(503, detail=CATCHING_UP, headers={"Retry-After": "2"})
        page = await asyncio.to_thread(
            read_timeline,
            store,
            viewer=viewer_of(principal),
            actor=principal.as_actor(),
            child_id=child_id,
            before=cursor,
            limit=limit,
            now=clock(),
            audit_topic=audit_topic,
            correlationid=get_correlation_id(),
        )
        on_view_recorded()
        body = page_json(child_id, page.shown, page.next_before.encode() if page.next_before else None,
                         directory.name_of)
        return Response(body, media_type="application/json")  # type: ignore[return-value] - TimelineOut's bytes

    @router.get("/children/{child_id}/access-log", response_model=AccessLogOut)
    async def access_log(
        child_id: UUID,
        principal: CurrentPrincipal,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> AccessLogOut:
        """Who read the child's timeline, when, how many entries and on what basis: for the
        child's parent and the child's setting only."""
        records = await asyncio.to_thread(read_access_log, store, viewer=viewer_of(principal), child_id=child_id, limit=limit)
        return AccessLogOut(child_id=child_id, views=[ViewOut.of(r, directory) for r in records])

    return router
