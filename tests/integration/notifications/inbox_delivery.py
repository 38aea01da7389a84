"""Delivering the inbox in tests that apply events straight to the store: the delivery worker,
working inbox jobs only, run at each moment a job falls due, as the service's worker would be."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from schemas.vocabulary import NotificationChannel
from services.common.clock import utc
from services.notifications.adapters import jobs
from services.notifications.adapters.tables import delivery_jobs
from services.notifications.domain.retry import RetryPolicy
from services.notifications.service_layer.delivery import DeliveryWorker


async def _never_parked(job: jobs.Job, reason: str) -> None:
    raise AssertionError(f"an inbox job was dead-lettered: {reason}")


def deliver_inbox(sessions: sessionmaker[Session]) -> int:
    """Decide and write every pending inbox job, each round at the moment the earliest pending
    job fell due; return how many jobs were decided."""
    decided = 0
    while True:
        with sessions() as session:
            due_at = session.scalar(select(func.min(delivery_jobs.c.next_attempt_at)).where(
                delivery_jobs.c.status == jobs.PENDING, delivery_jobs.c.channel == str(NotificationChannel.INBOX)))
        if due_at is None:
            return decided
        moment = utc(due_at)
        worker = DeliveryWorker(sessions, email=None, webhook=None, policy=RetryPolicy(0.01, 0.01, 3),
                                notifications_topic="nt-notifications", dead_letter=_never_parked,
                                clock=lambda: moment, channels=frozenset({NotificationChannel.INBOX}))
        with ThreadPoolExecutor(1) as thread:  # its own event loop, whether or not the caller runs one
            attempted = thread.submit(asyncio.run, worker.run_once()).result()
        if not attempted:
            raise AssertionError(f"inbox jobs due at {moment} were not taken")
        decided += attempted
