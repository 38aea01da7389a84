"""What a person does with their own subscription and inbox, called by the thin HTTP routes.

Each function owns its session and its transaction, and applies the consent check: an inbox
item is shown (or marked read) only if the reader may still see what it is about, decided on
the current consent state at every read (DESIGN §3: nothing stays cached in a per-viewer copy).
Every function acts for the caller's own token only: a practitioner for the organisation they
act for, a parent for the children their token names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.errors import Invalid, NotFound
from services.common.unit_of_work import UnitOfWorkFactory
from consent_policy.state import ConsentState
from services.notifications.adapters import jobs, store
from services.notifications.domain.recipients import PARENT_SCOPE, Subscriber, may_see
from services.notifications.domain.webhook_urls import UnsafeWebhook, WebhookPolicy, check_url


@dataclass(frozen=True)
class Page:
    items: list[jobs.InboxItem]
    next_before: datetime | None


def scope_of(principal: Principal) -> str:
    return PARENT_SCOPE if principal.organisation_id is None else principal.organisation_id


def subscribe(transactions: UnitOfWorkFactory, principal: Principal, *, email: str | None, webhook_url: str | None,
              webhook_secret: str | None, token_expires: datetime, policy: WebhookPolicy) -> store.Subscription:
    """Subscribe (or change how). A parent's children are the token's, relied on until it expires."""
    if webhook_url:
        try:
            check_url(webhook_url, policy)
        except UnsafeWebhook as exc:
            raise Invalid(f"webhook_url {exc}", field="webhook_url") from None
    subscriber = Subscriber(
        principal.practitioner_id, principal.organisation_id, principal.agency, principal.role, principal.children,
        email, webhook_url, children_valid_until=token_expires if principal.is_parent else None,
    )
    with transactions() as uow:
        store.put_subscription(uow.session, subscriber, webhook_secret, uow.now)
        found = store.get_subscription(uow.session, subscriber.person_id, subscriber.scope)
    assert found is not None
    return found


def subscription(transactions: UnitOfWorkFactory, principal: Principal) -> store.Subscription:
    with transactions.sessions() as session:
        found = store.get_subscription(session, principal.practitioner_id, scope_of(principal))
    if found is None:
        raise NotFound("you have no subscription")
    return found


def unsubscribe(transactions: UnitOfWorkFactory, principal: Principal) -> None:
    with transactions() as uow:
        if not store.delete_subscription(uow.session, principal.practitioner_id, scope_of(principal)):
            raise NotFound("you have no subscription")


def inbox_page(transactions: UnitOfWorkFactory, principal: Principal, *, unread_only: bool, limit: int,
               before: datetime | None) -> Page:
    """The reader's items, newest first, each still permitted under current consent."""
    now = transactions.clock()
    with transactions.sessions() as session:
        items = jobs.inbox_items(session, principal.practitioner_id, scope_of(principal), unread_only=unread_only,
                                 limit=limit, before=before)
        shown = _visible(session, principal, items, now)
    more = len(items) == limit
    return Page(shown, items[-1].created_at if more and items else None)


def mark_read(transactions: UnitOfWorkFactory, principal: Principal, notification_id: UUID) -> jobs.InboxItem:
    with transactions() as uow:
        session, scope = uow.session, scope_of(principal)
        item = jobs.inbox_item(session, notification_id, principal.practitioner_id, scope)
        if item is None or not _visible(session, principal, [item], uow.now):
            raise NotFound("no such notification in your inbox")
        jobs.mark_read(session, notification_id, uow.now)
        item = jobs.inbox_item(session, notification_id, principal.practitioner_id, scope)
    assert item is not None
    return item


def _visible(session: Session, principal: Principal, items: list[jobs.InboxItem],
             now: datetime) -> list[jobs.InboxItem]:
    reader = Subscriber(principal.practitioner_id, principal.organisation_id, principal.agency, principal.role,
                        principal.children)
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
