"""Reminders of what is due (DESIGN §5): which dates an event sets, when each reminder is sent,
and which later event makes a reminder moot.

Pure. Dates arrive in events, never derived from the child's date of birth (which this
service never sees): statutory EHC dates count from the request, review dates are chosen by
people, consent dates are the consent's own. The one age-based moment, the integrated review
window as the child nears 24 months, arrives as an event on the day
(IntegratedReviewWindowOpened) rather than as a date ahead of it. Each date becomes reminder
rows keyed by (kind, child, reference, days before). A row is sent once: the key, extended by the recipient,
is stored under a unique constraint in the same transaction as the send job, so neither a
restart nor a replay of the topic sends it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from uuid import UUID

from schemas.envelope import EnvelopeBase
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Category
from consent_policy.state import ConsentState
from services.notifications.domain.recipients import About, Addressed, Audience, Subscriber, recipients

# Reminder kinds this service derives itself. Kinds carried in `DueDate`s (ChildRegistered,
# EHCAssessmentRequested) are the referrals service's and are kept as they come.
EHC_ADVICE = "ehc_advice"
EHC_DRAFT_PLAN_COMMENTS = "ehc_draft_plan_comments"
INTEGRATED_REVIEW = "integrated_review"
CONSENT_EXPIRY = "consent_expiry"
# The integrated review window opening (IntegratedReviewWindowOpened). The same kind name the
# referrals service once put in ChildRegistered.due_dates, with the month-ahead kind below.
INTEGRATED_REVIEW_WINDOW = "integrated_review_window_opens"
INTEGRATED_REVIEW_MONTH_AHEAD = "integrated_review_reminder"

# A week before, and on the day (the schedule for statutory and review dates).
DEFAULT_OFFSETS: tuple[int, ...] = (7, 0)
# "Remind 30 days before a consent expires" (DESIGN §5): consent is reviewed yearly.
CONSENT_OFFSETS: tuple[int, ...] = (30,)

REF_EHC_ADVICE = "SEND Regulations 2014 reg. 8(1): advice within 6 weeks of being asked"
REF_DRAFT_COMMENTS = "SEND Regulations 2014 reg. 13(1): at least 15 days for the parent to comment on the draft plan"
REF_INTEGRATED_REVIEW = "EYFS progress check at two combined with the Healthy Child Programme 2-2½ year review"
REF_CONSENT = "Consent is reviewed yearly: the team and family are reminded 30 days before it expires (DESIGN §5)"
REF_INTEGRATED_REVIEW_WINDOW = (
    "EYFS statutory framework, progress check at age two (between 24 and 36 months), combined where possible "
    "with the Healthy Child Programme 2-2½ year review: the health visitor and the setting plan it as the child "
    "nears 24 months")

# The ref under which a child's own dates (from ChildRegistered) are kept: there is one set.
CHILD_REF = "child"
# The ref of the announced window: one per child, apart from any dated window reminder an older
# ChildRegistered set under CHILD_REF (which the announcement cancels).
WINDOW_REF = "window"
# Sent on the day it is announced: there is no "a week before" of a moment only known on the day.
ON_THE_DAY: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Reminder:
    """One reminder: `offset_days` before `due_on`, about the event that set the date."""

    kind: str
    child_id: UUID
    ref: str
    due_on: date
    offset_days: int
    category: str
    about_event_id: UUID
    author_organisation_id: str | None
    reference: str

    @property
    def send_on(self) -> date:
        return date.fromordinal(self.due_on.toordinal() - self.offset_days)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.child_id}:{self.ref}:{self.offset_days}"

    @property
    def group(self) -> tuple[str, UUID, str]:
        """The reminders of one date: a week before and on the day share a group."""
        return (self.kind, self.child_id, self.ref)

    def send_key(self, recipient: Subscriber) -> str:
        """The idempotency key of sending this reminder to this person: sent at most once."""
        return f"{self.key}:{recipient.address}"

    def about(self) -> About:
        # The reminder points at the event that set the date; the consent decision runs on
        # the reminder's category, so only those who may see that kind of entry are reminded.
        return About(self.about_event_id, self.child_id, self.kind, self.category, self.author_organisation_id)


def reminder_audience(team: Iterable[str], reminder: Reminder) -> Audience:
    """Reminders go to the team as entries do, and also to the organisation that set the date,
    in the team or not: the LA that requested advice must know it is due too, and it always
    sees its own records (DESIGN §3 rule 2)."""
    author = {reminder.author_organisation_id} if reminder.author_organisation_id else set()
    return Audience(frozenset(team) | author, author_is_told=True)


def reminded(reminder: Reminder, team: Iterable[str], subscribers: Iterable[Subscriber], *, now: datetime,
             state: ConsentState) -> list[Addressed]:
    """Who is reminded: whom `reminder_audience` considers and the consent decision permits for
    the reminder's category — a parent only while the token that named their children is
    still valid (`Subscriber.as_of`). A reminder is pushed, on every channel at once, and its
    words (what is due, and why) are more than an inbox line re-checked at each read."""
    return recipients(reminder.about(), reminder_audience(team, reminder), [s.as_of(now) for s in subscribers],
                      now=now, state=state)


def _category_of_due_kind(kind: str, default: str) -> str:
    k = kind.lower()
    if k.startswith("ehc"):
        return Category.EHC
    if "integrated_review" in k or k.startswith("hcp") or "progress_check" in k:
        return Category.HEALTH
    if "transition" in k or "reception" in k or "school" in k:
        return Category.TRANSITION
    if k.startswith("consent"):
        return Category.CONSENT
    return default


def _day_of(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()


def reminders_for(envelope: EnvelopeBase) -> tuple[Reminder, ...]:
    """Every reminder the event sets (often none)."""
    data = envelope.data
    dated: list[tuple[str, str, date, str, str, tuple[int, ...]]] = []  # kind, ref, due, category, reference, offsets
    if isinstance(data, r.ChildRegistered):
        dated += [(d.kind, CHILD_REF, d.due_on, _category_of_due_kind(d.kind, envelope.category), d.reference,
                   DEFAULT_OFFSETS) for d in data.due_dates]
    elif isinstance(data, r.EHCAssessmentRequested):
        dated += [(d.kind, str(data.request_id), d.due_on, _category_of_due_kind(d.kind, Category.EHC), d.reference,
                   DEFAULT_OFFSETS) for d in data.due_dates]
    elif isinstance(data, r.EHCAdviceRequested):
        dated.append((EHC_ADVICE, str(data.advice_id), data.due_on, Category.EHC, REF_EHC_ADVICE, DEFAULT_OFFSETS))
    elif isinstance(data, r.EHCDraftPlanIssued):
        dated.append((EHC_DRAFT_PLAN_COMMENTS, str(data.request_id), data.comments_due_on, Category.EHC,
                      REF_DRAFT_COMMENTS, DEFAULT_OFFSETS))
    elif isinstance(data, r.IntegratedReviewWindowOpened):
        dated.append((INTEGRATED_REVIEW_WINDOW, WINDOW_REF, data.announced_on, Category.HEALTH,
                      REF_INTEGRATED_REVIEW_WINDOW, ON_THE_DAY))
    elif isinstance(data, r.IntegratedReviewScheduled):
        dated.append((INTEGRATED_REVIEW, str(data.review_id), data.scheduled_for, Category.HEALTH,
                      REF_INTEGRATED_REVIEW, DEFAULT_OFFSETS))
    elif isinstance(data, (c.ConsentGranted, c.ConsentExpiryReminderDue)):
        # Both the grant and the consent service's own reminder trigger set the same reminder
        # (same key), so whichever arrives first schedules it and the other changes nothing.
        dated.append((CONSENT_EXPIRY, str(data.consent_id), _day_of(data.expires_at), Category.CONSENT,
                      REF_CONSENT, CONSENT_OFFSETS))
    return tuple(
        Reminder(kind, envelope.subject, ref, due_on, offset, str(category), envelope.id,
                 envelope.actor.organisation_id, reference)
        for kind, ref, due_on, category, reference, offsets in dated
        for offset in offsets
    )


@dataclass(frozen=True)
class Cancellation:
    """Pending reminders of `ref` for `child_id` that an event made moot; `kinds` None means
    every kind under that ref."""

    child_id: UUID
    ref: str
    kinds: frozenset[str] | None


def cancellations(envelope: EnvelopeBase) -> tuple[Cancellation, ...]:
    """Reminders that no longer make sense once this event happened. Only what the event
    settles beyond doubt: reg. 10(4) exceptions, for instance, never cancel a statutory
    reminder (they are recorded and shown, never applied silently)."""
    data, child = envelope.data, envelope.subject
    if isinstance(data, (c.ConsentWithdrawn, c.ConsentExpired)):
        return (Cancellation(child, str(data.consent_id), frozenset({CONSENT_EXPIRY})),)
    if isinstance(data, r.EHCAdviceSubmitted):
        return (Cancellation(child, str(data.advice_id), frozenset({EHC_ADVICE})),)
    if isinstance(data, r.IntegratedReviewCompleted):
        return (Cancellation(child, str(data.review_id), frozenset({INTEGRATED_REVIEW})),)
    if isinstance(data, r.IntegratedReviewWindowOpened):
        # The window has opened: a dated reminder of it that an older ChildRegistered set is
        # moot (and would tell everyone twice).
        return (Cancellation(child, CHILD_REF, frozenset({INTEGRATED_REVIEW_WINDOW, INTEGRATED_REVIEW_MONTH_AHEAD})),)
    if isinstance(data, (r.EHCAssessmentDeclined, r.EHCPlanFinalised)):
        # The assessment is over: none of its dates is still to be met.
        return (Cancellation(child, str(data.request_id), None),)
    return ()


def cancels(cancellation: Cancellation, reminder: Reminder) -> bool:
    return (reminder.child_id == cancellation.child_id and reminder.ref == cancellation.ref
            and (cancellation.kinds is None or reminder.kind in cancellation.kinds))


@dataclass(frozen=True)
class DueSelection:
    send: tuple[Reminder, ...]
    superseded: tuple[Reminder, ...]  # a later reminder of the same date is due too
    expired: tuple[Reminder, ...]  # the date itself passed long enough ago


def due_now(pending: Iterable[Reminder], today: date, *, late_grace_days: int = 1) -> DueSelection:
    """Which pending reminders to send today.

    Of one date's reminders that are due, only the closest to the date is sent (after an
    outage, "due today" replaces "due in a week" rather than following it). Reminders of a date
    more than `late_grace_days` in the past are dropped: a replay of old events, or a long
    outage, must not flood people with reminders of dates long gone.
    """
    groups: dict[tuple[str, UUID, str], list[Reminder]] = {}
    for reminder in pending:
        if reminder.send_on <= today:
            groups.setdefault(reminder.group, []).append(reminder)
    send: list[Reminder] = []
    superseded: list[Reminder] = []
    expired: list[Reminder] = []
    for group in groups.values():
        if (today - group[0].due_on).days > late_grace_days:
            expired += group
            continue
        closest = min(group, key=lambda x: x.offset_days)
        send.append(closest)
        superseded += [x for x in group if x is not closest]
    order = lambda x: (x.send_on, x.key)  # noqa: E731
    return DueSelection(tuple(sorted(send, key=order)), tuple(sorted(superseded, key=order)),
                        tuple(sorted(expired, key=order)))
