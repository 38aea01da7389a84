"""HTTP API: a person's own subscription (where to be told) and their in-app inbox.

Thin: validate the request, call the handler in a worker thread (services.notifications.
service_layer.inbox owns the sessions and the consent check), shape the answer.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timezone
from typing import Annotated
from urllib.parse import urlparse
from uuid import UUID

import jwt
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator,
)
from sqlalchemy.orm import Session, sessionmaker

from schemas.formats import Timestamp
from services.common.clock import Clock, utc_now
from services.common.directory import Directory
from services.common.errors import Invalid
from services.common.text import PublishedPattern, StorableText, storable
from services.common.unit_of_work import UnitOfWorkFactory
from services.common.web import CurrentPrincipal
from services.notifications.adapters import jobs, store
from services.common.consent_freshness import CATCHING_UP, CATCHING_UP_RESPONSE, ConsentCopyFreshness, fresh_enough
from services.notifications.domain.webhook_urls import WebhookPolicy
from services.notifications.service_layer import inbox

# A deliverable address: a local part without spaces or delimiters, and a dotted host name.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# Control characters are left out too, so the pattern (published in the OpenAPI document) is the
# whole rule and `storable` never refuses what it accepts (lone surrogates: services.common.text).
_EMAIL = re.compile(rf"^[^@\s<>(),;:\"\[\]\u0000-\u001f]+@{_LABEL}(?:\.{_LABEL})+$")


# services.common.text's check, after the length: a NUL (which PostgreSQL refuses) or another
# control character is a 422 naming the field, never a database error (a 500).
_Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(storable), PublishedPattern(_EMAIL.pattern)]
_Url = Annotated[StorableText, StringConstraints(max_length=2000)]
_Secret = Annotated[StorableText, StringConstraints(min_length=16, max_length=256)]


# webhook_url and webhook_secret come together or not at all (absent or null), said in the
# schema as well as by `_secret_with_url`, so a client knows before it asks.
_WEBHOOK_PAIRED = {"anyOf": [
    {"required": ["webhook_url", "webhook_secret"],
     "properties": {"webhook_url": {"type": "string"}, "webhook_secret": {"type": "string"}}},
    {"properties": {"webhook_url": {"type": "null"}, "webhook_secret": {"type": "null"}}},
]}


class SubscriptionIn(BaseModel):
    """Where to be told. No channel at all still subscribes to the in-app inbox."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_WEBHOOK_PAIRED)

    email: _Email | None = Field(default=None, description="E-mail address for notifications")
    webhook_url: _Url | None = Field(
        default=None, description="https URL (plain http in development only) that receives signed POSTs; it must not "
                                  "name or resolve to a loopback, private, link-local or other non-public address")
    webhook_secret: _Secret | None = Field(
        default=None,
        description="Shared secret for the HMAC-SHA256 signature; required with webhook_url. Never returned.",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        # No stripping: the documented pattern is the whole rule, so what it refuses is refused.
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ch.isspace() for ch in value):
            # urlparse silently drops tabs and newlines; what is stored must be what is sent to.
            raise ValueError("must not contain whitespace")
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http(s) URL")
        if parsed.username or parsed.password:
            raise ValueError("must not carry credentials; the signature authenticates the sender")
        return value

    @model_validator(mode="after")
    def _secret_with_url(self) -> "SubscriptionIn":
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("webhook_secret is required with webhook_url")
        if self.webhook_secret and not self.webhook_url:
            raise ValueError("webhook_secret is only for a webhook_url")
        return self


class SubscriptionOut(BaseModel):
    person_id: str
    organisation_id: str | None
    agency: str
    role: str
    children: list[UUID]
    children_valid_until: datetime | None = Field(
        description="A parent's children are relied on until the subscribing token expires: after this, nothing is "
                    "e-mailed, posted or reminded until they subscribe again (the inbox goes on)")
    email: str | None
    webhook_url: str | None
    webhook_secret_set: bool
    channels: list[str]
    updated_at: datetime


class InboxItemOut(BaseModel):
    notification_id: UUID
    title: str
    text: str
    link: str
    child_id: UUID
    about: str
    about_event_id: UUID
    organisation_id: str | None = Field(
        default=None, description="The organisation the message names: the entry's author, or the organisation "
                                  "granted safeguarding access")
    organisation_name: str | None = Field(
        default=None, description="That organisation's name in the organisation directory")
    due_on: date | None = Field(
        default=None, description="A reminder's due day; absent where that day would tell the child's date of birth")
    until: datetime | None = Field(default=None, description="When a safeguarding access grant ends")
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    next_before: datetime | None


def _out(sub: store.Subscription) -> SubscriptionOut:
    s = sub.subscriber
    return SubscriptionOut(
        person_id=s.person_id, organisation_id=s.organisation_id, agency=s.agency.value, role=s.role,
        children=sorted(s.children, key=str), children_valid_until=s.children_valid_until, email=s.email,
        webhook_url=s.webhook_url,
        webhook_secret_set=bool(sub.webhook_secret), channels=[c.value for c in s.channels()],
        updated_at=sub.updated_at,
    )


def _item(item: jobs.InboxItem, directory: Directory) -> InboxItemOut:
    return InboxItemOut(
        notification_id=item.notification_id, title=item.title, text=item.text, link=item.link,
        child_id=item.about.child_id, about=item.about.about, about_event_id=item.about.event_id,
        organisation_id=item.organisation_id, organisation_name=directory.name_of(item.organisation_id),
        due_on=item.due_on, until=item.until, created_at=item.created_at, read_at=item.read_at,
    )


_bearer = HTTPBearer(auto_error=False)


def token_expiry(principal: CurrentPrincipal,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> datetime:
    """When the caller's token expires. `CurrentPrincipal` has just verified this same token
    (signature, issuer, audience, expiry), so its `exp` claim is read without verifying again.
    (Principal does not carry the expiry; if it comes to, read it from there.)"""
    if credentials is None:  # cannot happen after CurrentPrincipal; kept so a change there fails safe
        raise Invalid("a bearer token is required", field="authorization")
    exp = jwt.decode(credentials.credentials, options={"verify_signature": False})["exp"]
    try:
        return datetime.fromtimestamp(int(exp), timezone.utc)
    except (OverflowError, OSError, ValueError):
        return datetime.max.replace(tzinfo=timezone.utc)  # far beyond any date the clock will reach


TokenExpiry = Annotated[datetime, Depends(token_expiry)]


def build_router(sessions: sessionmaker[Session], *, clock: Clock = utc_now,
                 webhook_policy: WebhookPolicy = WebhookPolicy(), directory: Directory | None = None,
                 freshness: ConsentCopyFreshness | None = None, freshness_wait_s: float = 1.0) -> APIRouter:
    """`webhook_policy`: where webhooks may point (default: https to public addresses only);
    `directory`: names the organisations inbox items name (default: the directory shipped in
    reference/); `freshness`: the gate an inbox read passes before deciding what to show (the
    service always has one; None only over a copy not fed from topics)."""
    router = APIRouter(tags=["notifications"])
    names = Directory.load() if directory is None else directory
    transactions = UnitOfWorkFactory(sessions, clock=clock)

    async def copy_is_fresh() -> None:
        """An inbox read decides on the consent copy: not while the copy lacks what is already
        published (a withdrawal, a team departure). A 503 the client retries, rather than an
        answer that shows what may no longer be permitted — or an empty inbox that is not true."""
        if not await fresh_enough(freshness, freshness_wait_s):
            raise HTTPException(503, detail=CATCHING_UP, headers={"Retry-After": "2"})

    @router.put("/subscriptions/me", response_model=SubscriptionOut)
    async def put_my_subscription(body: SubscriptionIn, principal: CurrentPrincipal,
                                  expires: TokenExpiry) -> SubscriptionOut:
        """Subscribe (or change how) to be told about the children you may see. A parent's
        children are taken from the token and relied on until it expires: subscribe again with
        each new token to go on receiving e-mails, webhooks and reminders."""
        return _out(await asyncio.to_thread(
            inbox.subscribe, transactions, principal, email=body.email, webhook_url=body.webhook_url,
            webhook_secret=body.webhook_secret, token_expires=expires, policy=webhook_policy))

    @router.get("/subscriptions/me", response_model=SubscriptionOut)
    async def get_my_subscription(principal: CurrentPrincipal) -> SubscriptionOut:
        return _out(await asyncio.to_thread(inbox.subscription, transactions, principal))

    @router.delete("/subscriptions/me", status_code=204)
    async def delete_my_subscription(principal: CurrentPrincipal) -> Response:
        """Stop all notifications; pending e-mails and webhooks are withheld."""
        await asyncio.to_thread(inbox.unsubscribe, transactions, principal)
        return Response(status_code=204)

    @router.get("/inbox", response_model=InboxPage, responses=CATCHING_UP_RESPONSE)
    async def my_inbox(
        principal: CurrentPrincipal,
        unread_only: Annotated[bool, Query(description="Only items not yet marked read")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        # Timestamp: an RFC 3339 date-time, exactly as the documented `format: date-time` (plain
        # datetime would also take `0.5` as seconds since 1970, which the document refuses).
        before: Annotated[Timestamp | None, Query(description="next_before of the previous page")] = None,
    ) -> InboxPage:
        """Your notifications, newest first, each still permitted under current consent."""
        if before is not None and before.tzinfo is None:
            raise Invalid("must include a timezone offset", field="before")
        try:
            cursor = None if before is None else before.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            # 0001-01-01T00:00:00+05:00 is a valid timestamp that no UTC datetime can hold.
            raise Invalid("is out of range", field="before") from None
        await copy_is_fresh()
        page = await asyncio.to_thread(inbox.inbox_page, transactions, principal, unread_only=unread_only,
                                       limit=limit, before=cursor)
        return InboxPage(items=[_item(i, names) for i in page.items], next_before=page.next_before)

    @router.post("/inbox/{notification_id}/read", response_model=InboxItemOut, responses=CATCHING_UP_RESPONSE)
    async def mark_read(notification_id: UUID, principal: CurrentPrincipal) -> InboxItemOut:
        await copy_is_fresh()
        return _item(await asyncio.to_thread(inbox.mark_read, transactions, principal, notification_id), names)

    return router
