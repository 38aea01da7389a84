"""Delivery: the worker that works the job table through the channels (adapters/channels.py
for e-mail and webhooks; the inbox is written in the store).

The worker runs beside the stream, never in it: the consumer only writes jobs. A round takes
the due jobs and, in one transaction, leases each and checks it again against the current
consent state (a withdrawal between the entry and the round withholds it: nothing stays cached
per viewer, DESIGN §3; each child's state is read once per round). Inbox jobs are settled in
that transaction (the item written, NotificationSent). E-mails and webhooks are then attempted
concurrently, up to a limit, each with a timeout, so one slow receiver delays nobody else, and
settled one by one — sent (NotificationSent), retried later with exponential backoff, or, after
the last attempt, failed (NotificationFailed, then a dead-letter record with the reason).

Before a round's due jobs are decided, the freshness gate (adapters/freshness.py) snapshots the
end offsets of the topics the consent copy is fed from and waits, briefly, for the copy to have
applied them all: a copy far behind would lack withdrawals and team departures already
published, and an e-mail or webhook cannot be unsent. Still behind, or the broker unreachable:
the round sends nothing and the jobs stay due for the next round (nothing dropped).

An inbox item is written by the round that decides its job, dated the moment before the
round's snapshot (plus its place in the round, in microseconds, so items never share a moment
and the inbox's `before` cursor never skips one): the copy it was decided on holds every consent
and team fact published by then, so the item is what the decision said at the time it bears.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from schemas.vocabulary import NotificationChannel
from services.common.clock import Clock
from services.common.unit_of_work import UnitOfWorkFactory
from services.common.tasks import wait_any
from services.notifications import metrics
from services.notifications.adapters import jobs, store
from services.common.consent_freshness import BrokerUnavailable, ConsentCopyFreshness
from services.notifications.adapters.channels import DeliveryError, EmailChannel, WebhookChannel
from services.notifications.adapters.jobs import Job
from services.notifications.domain.messages import email_message_id
from services.notifications.domain.recipients import may_see
from services.notifications.domain.retry import RetryPolicy
from services.notifications.service_layer.reports import notification_failed, notification_sent

log = logging.getLogger(__name__)

DeadLetter = Callable[[Job, str], Awaitable[None]]


# Inbox jobs decided per round, in one transaction.
_INBOX_ROUND = 500


@dataclass(frozen=True)
class _Target:
    address: str | None  # None: withhold
    secret: str | None
    reason: str = ""


class DeliveryWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        email: EmailChannel | None,
        webhook: WebhookChannel | None,
        policy: RetryPolicy,
        notifications_topic: str,
        dead_letter: DeadLetter,
        clock: Clock,
        concurrency: int = 8,
        lease_s: float = 120.0,
        poll_s: float = 0.5,
        attempt_timeout_s: float = 30.0,
        on_outbox: Callable[[], None] = lambda: None,
        freshness: ConsentCopyFreshness | None = None,
        freshness_wait_s: float = 1.0,
        channels: frozenset[NotificationChannel] = frozenset(NotificationChannel),
    ) -> None:
        """`freshness`: the gate every round passes before deciding (the service always has
        one; None only for a worker over a copy written directly, not fed from topics — tests).
        `channels`: the jobs this worker works (the service's works them all)."""
        self._sessions = sessions
        # on_outbox is called on the loop after a report is committed (see `_attempt`), not here.
        self._transactions = UnitOfWorkFactory(sessions, clock=clock, outbox=store.outbox)
        self._email = email
        self._webhook = webhook
        self._policy = policy
        self._topic = notifications_topic
        self._dead_letter = dead_letter
        self._clock = clock
        self._concurrency = concurrency
        self._lease = timedelta(seconds=lease_s)
        self._poll_s = poll_s
        self._attempt_timeout_s = attempt_timeout_s
        self._on_outbox = on_outbox
        self._freshness = freshness
        self._freshness_wait_s = freshness_wait_s
        self._channels = channels
        self._in_flight: dict[str, asyncio.Task] = {}
        self._wakeup = asyncio.Event()
        self.attempts = 0

    def wakeup(self) -> None:
        """New jobs were committed: look now rather than at the next poll."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Decide every inbox job due now, attempt every other, concurrently, and park finished
        failures; for tests and tools. Returns how many jobs were taken up."""
        inbox, pushes = await asyncio.to_thread(self._due_inbox), await asyncio.to_thread(
            self._due, self._concurrency * 8)
        as_of = self._clock()
        if (inbox or pushes) and not await self._copy_is_fresh():
            return 0
        decided = await self._deliver_inbox(inbox, as_of)
        await asyncio.gather(*(self._attempt(job, target) for job, target in await self._take_pushes(pushes)))
        await self._flush_dead_letters()
        return decided + len(pushes)

    async def run(self, stop: asyncio.Event) -> None:
        """Work the job table until `stop` is set; in-flight attempts are awaited on the way out."""
        try:
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    free = self._concurrency - len(self._in_flight)
                    inbox = await asyncio.to_thread(self._due_inbox)
                    due = await asyncio.to_thread(self._due, free) if free > 0 else []
                    as_of = self._clock()  # before the snapshot: the copy holds all published by then
                    if (inbox or due) and await self._copy_is_fresh():
                        if await self._deliver_inbox(inbox, as_of) == _INBOX_ROUND:
                            self._wakeup.set()  # more may be due
                        for job, target in await self._take_pushes(due):
                            task = asyncio.create_task(self._attempt(job, target), name=f"deliver-{job.job_id}")
                            self._in_flight[str(job.job_id)] = task
                            task.add_done_callback(lambda _t, k=str(job.job_id): self._finished(k))
                    await self._flush_dead_letters()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the worker outlives database and broker outages
                    log.warning("delivery loop failed (%r); retrying in %.1fs", exc, self._poll_s)
                await wait_any(stop, self._wakeup, self._poll_s)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _copy_is_fresh(self) -> bool:
        """Has the consent copy applied everything published up to now (waiting briefly)?
        Checked after the due jobs are read and before any of them is decided: every decision
        of the round is then taken on a copy at least as fresh as this moment."""
        if self._freshness is None:
            return True
        try:
            return not await self._freshness.wait_until_fresh(self._freshness_wait_s)
        except BrokerUnavailable as exc:
            log.warning("delivery round skipped: %s (nothing is sent on a copy that may be stale)", exc)
            return False

    def _finished(self, job_id: str) -> None:
        self._in_flight.pop(job_id, None)
        # Half the slots free: a round for them. Not one round per finished job: each round
        # reads the job table and passes the freshness gate (a broker round trip).
        if len(self._in_flight) <= self._concurrency // 2:
            self._wakeup.set()

    def _due(self, limit: int) -> list[Job]:
        """E-mails and webhooks due now, each attempted on its own (`_attempt`)."""
        with self._sessions() as session:
            return jobs.due_jobs(session, self._clock(), limit=limit, exclude=set(self._in_flight),
                                 channels=self._channels - {NotificationChannel.INBOX})

    def _due_inbox(self) -> list[Job]:
        if NotificationChannel.INBOX not in self._channels:
            return []
        with self._sessions() as session:
            return jobs.due_jobs(session, self._clock(), limit=_INBOX_ROUND,
                                 channels=frozenset({NotificationChannel.INBOX}))

    async def _deliver_inbox(self, due: list[Job], as_of: datetime) -> int:
        """Decide a round's inbox jobs in one transaction; return how many were decided."""
        if not due:
            return 0
        try:
            outcomes = await asyncio.to_thread(self._decide_inbox, due, as_of)
        except Exception as exc:  # noqa: BLE001 - nothing was committed; the jobs stay due
            log.warning("inbox round of %d jobs could not be recorded: %r", len(due), exc)
            return 0
        for outcome, n in outcomes.items():
            metrics.DELIVERIES.labels(NotificationChannel.INBOX.value, outcome).inc(n)
        self._on_outbox()
        return len(due)

    def _decide_inbox(self, due: list[Job], as_of: datetime) -> dict[str, int]:
        """Each job taken, decided and settled: the item written (dated `as_of` plus its place in
        the round, in microseconds) and reported sent, or the job withheld, all in one transaction."""
        outcomes = {"sent": 0, "withheld": 0}
        with self._transactions() as uow:
            session, now, states = uow.session, uow.now, {}
            for place, job in enumerate(due):
                if not jobs.lease(session, job.job_id, now, now + self._lease):
                    continue  # another worker has it
                target = self._target_in(session, job, now, states)
                if target.address is None:
                    jobs.record_withheld(session, job.job_id, target.reason, now)
                    outcomes["withheld"] += 1
                    continue
                jobs.add_inbox_item(session, job.notification_id, job.person_id, job.scope, job.about, job.message,
                                    created_at=as_of + timedelta(microseconds=place))
                jobs.record_sent(session, job.job_id, job.attempts + 1, now)
                uow.publish(notification_sent(job.notification_id, job.person_id, job.organisation_id, job.channel,
                                              job.about, job.source, now), topic=self._topic)
                outcomes["sent"] += 1
        return outcomes

    async def _take_pushes(self, due: list[Job]) -> list[tuple[Job, _Target]]:
        """Lease and decide a round's e-mails and webhooks in one transaction (each child's state
        read once); the withheld are settled there, the rest returned to be attempted."""
        if not due:
            return []
        try:
            taken, withheld = await asyncio.to_thread(self._decide_pushes, due)
        except Exception as exc:  # noqa: BLE001 - nothing was committed; the jobs stay due
            log.warning("delivery round of %d jobs could not be taken: %r", len(due), exc)
            return []
        for job, reason in withheld:
            metrics.DELIVERIES.labels(job.channel.value, "withheld").inc()
            log.info("notification %s by %s withheld: %s", job.notification_id, job.channel.value, reason)
        return taken

    def _decide_pushes(self, due: list[Job]) -> tuple[list[tuple[Job, _Target]], list[tuple[Job, str]]]:
        taken: list[tuple[Job, _Target]] = []
        withheld: list[tuple[Job, str]] = []
        now = self._clock()
        with self._sessions.begin() as session:
            states: dict = {}
            for job in due:
                if not jobs.lease(session, job.job_id, now, now + self._lease):
                    continue  # another worker has it
                target = self._target_in(session, job, now, states)
                if target.address is None:
                    jobs.record_withheld(session, job.job_id, target.reason, now)
                    withheld.append((job, target.reason))
                else:
                    taken.append((job, target))
        return taken, withheld

    async def _attempt(self, job: Job, target: _Target) -> None:
        """Send a leased job that was decided permitted, and record the outcome."""
        try:
            self.attempts += 1
            error = None
            try:
                await asyncio.wait_for(self._send(job, target), timeout=self._attempt_timeout_s)
            except DeliveryError as exc:
                error = str(exc)
            except asyncio.TimeoutError:
                error = f"no answer within {self._attempt_timeout_s:g}s"
            outcome = await asyncio.to_thread(self._settle, job, error)
            if outcome != "retry":
                self._on_outbox()  # here, on the loop: asyncio events are not thread-safe
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the lease runs out and the job is tried again
            log.warning("delivery attempt of job %s could not be recorded: %r", job.job_id, exc)

    def _target_in(self, session: Session, job: Job, now: datetime, states: dict) -> _Target:
        """Where to deliver now, or why not: the subscription as it is now, a parent's children
        as vouched for now, and the consent decision on the current state (`states`: each
        child's consent state and setting, read once per transaction)."""
        subscription = store.get_subscription(session, job.person_id, job.scope)
        if subscription is None:
            return _Target(None, None, "the recipient unsubscribed")
        subscriber = subscription.subscriber
        if job.channel is NotificationChannel.INBOX:
            # Read only by its owner, whose current token is checked at every read: an
            # expired subscribing token withholds pushes, not the inbox.
            address = job.target
        else:
            address = subscriber.email if job.channel is NotificationChannel.EMAIL else subscriber.webhook_url
            if not address:
                return _Target(None, None, f"the recipient no longer receives {job.channel.value}")
            if not subscriber.children_vouched_at(now):
                return _Target(None, None, "the parent's children were named by a token that has expired; "
                                           "nothing is pushed until they subscribe again")
        child = job.about.child_id
        if child not in states:
            states[child] = (store.consent_state(session, child), store.setting_of(session, child))
        decision = may_see(subscriber, job.about, now, *states[child])
        if not decision.permitted:
            return _Target(None, None, f"no longer permitted: {decision.reason}")
        return _Target(address, subscription.webhook_secret)

    async def _send(self, job: Job, target: _Target) -> None:
        assert target.address is not None
        if job.channel is NotificationChannel.EMAIL:
            if self._email is None:
                raise DeliveryError("e-mail is not configured (TAC_NOTIFICATIONS_SMTP_HOST)")
            await self._email.send(target.address, job.message, message_id=email_message_id(job.notification_id))
        elif job.channel is NotificationChannel.WEBHOOK:
            if self._webhook is None:
                raise DeliveryError("webhooks are not configured")
            if not target.secret:
                raise DeliveryError("the webhook has no secret to sign with")
            await self._webhook.send(target.address, target.secret, job.body)
        else:
            raise DeliveryError(f"channel {job.channel.value} is not delivered by the worker")

    def _settle(self, job: Job, error: str | None) -> str:
        """Record the attempt's outcome in one transaction with its report; return the outcome."""
        attempts = job.attempts + 1
        with self._transactions() as uow:
            session, now = uow.session, uow.now
            if error is None:
                jobs.record_sent(session, job.job_id, attempts, now)
                uow.publish(notification_sent(job.notification_id, job.person_id, job.organisation_id, job.channel,
                                              job.about, job.source, now), topic=self._topic)
            elif self._policy.gives_up_after(attempts):
                jobs.record_failed(session, job.job_id, attempts, error, now)
                uow.publish(notification_failed(job.notification_id, job.person_id, job.organisation_id,
                                                job.channel, job.about, job.source, attempts, error, now),
                            topic=self._topic)
            else:
                retry_at = now + timedelta(seconds=self._policy.delay_after(attempts))
                jobs.record_retry(session, job.job_id, attempts, error, retry_at)
        outcome = "sent" if error is None else "failed" if self._policy.gives_up_after(attempts) else "retry"
        metrics.DELIVERIES.labels(job.channel.value, outcome).inc()
        if error is not None:
            log.warning("notification %s by %s failed (attempt %d of %d): %s", job.notification_id,
                        job.channel.value, attempts, self._policy.max_attempts, error)
        return outcome

    async def _flush_dead_letters(self) -> None:
        """Park each finally failed job on the dead-letter topic, then mark it parked: a crash
        in between parks it twice, never not at all."""
        failed = await asyncio.to_thread(self._failed)
        for job in failed:
            reason = (f"notification {job.notification_id} to {job.scope}/{job.person_id} by {job.channel.value} "
                      f"about {job.about.about} failed after {job.attempts} attempts: {job.last_error}")
            await self._dead_letter(job, reason)
            await asyncio.to_thread(self._mark_parked, job)

    def _failed(self) -> list[Job]:
        with self._sessions() as session:
            return jobs.failed_not_deadlettered(session)

    def _mark_parked(self, job: Job) -> None:
        with self._sessions.begin() as session:
            jobs.mark_deadlettered(session, job.job_id, self._clock())
