"""HTTP API: a person's own subscription (where to be told) and their in-app inbox.

Every route acts for the caller's own token only: a practitioner subscribes for the
organisation they act for, a parent for the children their token names. The inbox is filtered
again at read time by the consent decision on the current state, so an item about an entry the
reader may no longer see (consent withdrawn) is not shown (DESIGN §3: nothing stays cached in a
per-viewer copy).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import urlparse
from uuid import UUID

import jwt
from fastapi import APIRouter, Depends, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator,
)
from sqlalchemy.orm import Session, sessionmaker

from services.common.auth import Principal
from services.common.directory import Directory
from services.common.errors import Invalid, NotFound
from services.common.text import storable
from services.common.web import CurrentPrincipal
from consent_policy.state import ConsentState
from services.notifications import jobs, store
from services.notifications.domain.recipients import PARENT_SCOPE, Subscriber, may_see
from services.notifications.domain.webhook_urls import UnsafeWebhook, WebhookPolicy, check_url

Clock = Callable[[], datetime]

# A deliverable address: a local part without spaces or delimiters, and a dotted host name.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s<>(),;:\"\[\]]+@{_LABEL}(?:\.{_LABEL})+$")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# services.common.text's check, after the length: a NUL (which PostgreSQL refuses) or another
# control character is a 422 naming the field, never a database error (a 500).
_Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(storable)]
_Url = Annotated[str, StringConstraints(max_length=2000), AfterValidator(storable)]
_Secret = Annotated[str, StringConstraints(min_length=16, max_length=256), AfterValidator(storable)]


class SubscriptionIn(BaseModel):
    """Where to be told. No channel at all still subscribes to the in-app inbox."""

    model_config = ConfigDict(extra="forbid")

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
        if value is not None and not _EMAIL.match(value.strip()):
            raise ValueError("is not an e-mail address")
        return None if value is None else value.strip()

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
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    next_before: datetime | None


def _scope(principal: Principal) -> str:
    return PARENT_SCOPE if principal.organisation_id is None else principal.organisation_id


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
        created_at=item.created_at, read_at=item.read_at,
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


def _reader(principal: Principal) -> Subscriber:
    return Subscriber(principal.practitioner_id, principal.organisation_id, principal.agency, principal.role,
                      principal.children)


def _visible(session: Session, principal: Principal, items: list[jobs.InboxItem],
             now: datetime) -> list[jobs.InboxItem]:
    reader = _reader(principal)
    states: dict[UUID, tuple[ConsentState, str | None]] = {}
    shown = []
    for item in items:
        child = item.about.child_id
        if child not in states:
            states[child] = (store.consent_state(session, child), store.setting_of(session, child))
        state, setting = states[child]
        if may_see(reader, item.about, now, state, setting).permitted:
            shown.append(item)
    return shown


def build_router(sessions: sessionmaker[Session], *, clock: Clock = utc_now,
                 webhook_policy: WebhookPolicy = WebhookPolicy(), directory: Directory | None = None) -> APIRouter:
    """`webhook_policy`: where webhooks may point (default: https to public addresses only);
    `directory`: names the organisations inbox items name (default: the directory shipped in
    reference/)."""
    router = APIRouter(tags=["notifications"])
    names = Directory.load() if directory is None else directory

    def put(principal: Principal, body: SubscriptionIn, expires: datetime) -> store.Subscription:
        if body.webhook_url:
            try:
                check_url(body.webhook_url, webhook_policy)
            except UnsafeWebhook as exc:
                raise Invalid(f"webhook_url {exc}", field="webhook_url") from None
        subscriber = Subscriber(
            principal.practitioner_id, principal.organisation_id, principal.agency, principal.role,
            principal.children, body.email, body.webhook_url,
            children_valid_until=expires if principal.is_parent else None,
        )
        with sessions.begin() as session:
            store.put_subscription(session, subscriber, body.webhook_secret, clock())
            found = store.get_subscription(session, subscriber.person_id, subscriber.scope)
        assert found is not None
        return found

    @router.put("/subscriptions/me", response_model=SubscriptionOut)
    async def put_my_subscription(body: SubscriptionIn, principal: CurrentPrincipal,
                                  expires: TokenExpiry) -> SubscriptionOut:
        """Subscribe (or change how) to be told about the children you may see. A parent's
        children are taken from the token and relied on until it expires: subscribe again with
        each new token to go on receiving e-mails, webhooks and reminders."""
        return _out(await asyncio.to_thread(put, principal, body, expires))

    def get(principal: Principal) -> store.Subscription:
        with sessions() as session:
            found = store.get_subscription(session, principal.practitioner_id, _scope(principal))
        if found is None:
            raise NotFound("you have no subscription")
        return found

    @router.get("/subscriptions/me", response_model=SubscriptionOut)
    async def get_my_subscription(principal: CurrentPrincipal) -> SubscriptionOut:
        return _out(await asyncio.to_thread(get, principal))

    def remove(principal: Principal) -> None:
        with sessions.begin() as session:
            if not store.delete_subscription(session, principal.practitioner_id, _scope(principal)):
                raise NotFound("you have no subscription")

    @router.delete("/subscriptions/me", status_code=204)
    async def delete_my_subscription(principal: CurrentPrincipal) -> Response:
        """Stop all notifications; pending e-mails and webhooks are withheld."""
        await asyncio.to_thread(remove, principal)
        return Response(status_code=204)

    def page(principal: Principal, unread_only: bool, limit: int, before: datetime | None) -> InboxPage:
        now = clock()
        with sessions() as session:
            items = jobs.inbox_items(session, principal.practitioner_id, _scope(principal), unread_only=unread_only,
                                     limit=limit, before=before)
            shown = _visible(session, principal, items, now)
        more = len(items) == limit
        return InboxPage(items=[_item(i, names) for i in shown],
                         next_before=items[-1].created_at if more and items else None)

    @router.get("/inbox", response_model=InboxPage)
    async def my_inbox(
        principal: CurrentPrincipal,
        unread_only: Annotated[bool, Query(description="Only items not yet marked read")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: Annotated[datetime | None, Query(description="next_before of the previous page")] = None,
    ) -> InboxPage:
        """Your notifications, newest first, each still permitted under current consent."""
        if before is not None and before.tzinfo is None:
            raise Invalid("must include a timezone offset", field="before")
        try:
            cursor = None if before is None else before.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            # 0001-01-01T00:00:00+05:00 is a valid timestamp that no UTC datetime can hold.
            raise Invalid("is out of range", field="before") from None
        return await asyncio.to_thread(page, principal, unread_only, limit, cursor)

    def read(principal: Principal, notification_id: UUID) -> InboxItemOut:
        now = clock()
        with sessions.begin() as session:
            item = jobs.inbox_item(session, notification_id, principal.practitioner_id, _scope(principal))
            if item is None or not _visible(session, principal, [item], now):
                raise NotFound("no such notification in your inbox")
            jobs.mark_read(session, notification_id, now)
            item = jobs.inbox_item(session, notification_id, principal.practitioner_id, _scope(principal))
        assert item is not None
        return _item(item, names)

    @router.post("/inbox/{notification_id}/read", response_model=InboxItemOut)
    async def mark_read(notification_id: UUID, principal: CurrentPrincipal) -> InboxItemOut:
        return await asyncio.to_thread(read, principal, notification_id)

    return router
