"""Who is told about a new timeline entry (DESIGN §3, §4).

Pure: contracts and the consent service's published decision in, plain values out. Nothing
here touches Kafka, a database or the web.

The rule, in one sentence: a notification goes to the practitioners of the organisations in
the team around the child, and to the child's parents, whom the consent decision permits to
see the entry *now* — never to anyone else. The same decision that guards the timeline at read
time decides who may be notified (DESIGN §3, last paragraph of the decision rules), because a
message that an entry exists ("an EP's advice was shared") already discloses something.

What they are told is in `messages`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from schemas.envelope import EnvelopeBase
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import DSL_ROLE, Agency, NotificationChannel
from consent_policy.decision import Decision, Entry, Viewer, decide
from consent_policy.state import ConsentState

# --- subscribers -----------------------------------------------------------------------------

PARENT_SCOPE = "parent"


@dataclass(frozen=True)
class Subscriber:
    """A person who asked to be told: a practitioner acting for one organisation, or a parent
    (no organisation; `children` are those they hold parental responsibility for, as their
    token said when they subscribed, and `children_valid_until` is that token's expiry: the
    list is vouched for until then and no longer)."""

    person_id: str
    organisation_id: str | None
    agency: Agency
    role: str
    children: frozenset[UUID] = frozenset()
    email: str | None = None
    webhook_url: str | None = None
    children_valid_until: datetime | None = None

    @property
    def is_parent(self) -> bool:
        return self.agency is Agency.PARENT

    @property
    def scope(self) -> str:
        """The organisation the person acts for, or "parent": with `person_id`, the key of a
        subscription (a practitioner may subscribe once per organisation they act for)."""
        return PARENT_SCOPE if self.organisation_id is None else self.organisation_id

    @property
    def address(self) -> str:
        """A stable text id of the recipient, used in idempotency keys."""
        return f"{self.scope}/{self.person_id}"

    def viewer(self) -> Viewer:
        return Viewer(self.person_id, self.organisation_id, self.agency, self.children)

    def children_vouched_at(self, now: datetime) -> bool:
        """Whether the children this subscription names may still be relied on at `now`.

        Parental responsibility can end: a court may end an acquired one (Children Act 1989
        s. 4(2A)), an adoption order ends the birth parents' (Adoption and Children Act 2002
        s. 46). Only the identity provider knows, and it says so in each token it issues; the
        copy stored at subscription time is as good as that token and no better. So a
        parent's list holds until the token that gave it expires, and after that nothing is
        *pushed* to the parent (e-mail, webhook, reminders) until they subscribe again with a
        current token. The in-app inbox needs no stored list: every read is checked against
        the reader's current token. A practitioner names no children: their access is the
        consent decision's alone."""
        if not self.is_parent:
            return True
        return self.children_valid_until is not None and now < self.children_valid_until

    def as_of(self, now: datetime) -> "Subscriber":
        """The subscriber as a push at `now` may treat them: a parent whose list is no longer
        vouched for holds no child (DESIGN §3 rule 1 then permits nothing)."""
        if self.children_vouched_at(now) or not self.children:
            return self
        return replace(self, children=frozenset())

    def channels(self) -> tuple[NotificationChannel, ...]:
        """The in-app inbox always; e-mail and webhook when the person registered them."""
        out = [NotificationChannel.INBOX]
        if self.email:
            out.append(NotificationChannel.EMAIL)
        if self.webhook_url:
            out.append(NotificationChannel.WEBHOOK)
        return tuple(out)


# --- what a notification is about --------------------------------------------------------------


@dataclass(frozen=True)
class About:
    """The timeline entry a notification points at: enough to run the consent decision again
    at delivery and at inbox read time, and nothing from the payload."""

    event_id: UUID
    child_id: UUID
    about: str  # the entry's event type, or a reminder kind
    category: str
    author_organisation_id: str | None
    author_person_id: str | None = None
    # The organisation whose request the entry answers (DESIGN §3 rule 3, `own_request`): kept
    # with the inbox item and the delivery job, since the decision runs again at both.
    answers_request_of: str | None = None

    def entry(self) -> Entry:
        return Entry(self.event_id, self.child_id, self.author_organisation_id, self.category,
                     answers_request_of=self.answers_request_of)

    @classmethod
    def from_envelope(cls, envelope: EnvelopeBase) -> "About":
        return cls(
            event_id=envelope.id,
            child_id=envelope.subject,
            about=envelope.type,
            category=envelope.category,
            author_organisation_id=envelope.actor.organisation_id,
            author_person_id=envelope.actor.practitioner_id,
            answers_request_of=answers_request_of(envelope),
        )


def answers_request_of(envelope: EnvelopeBase) -> str | None:
    """The organisation whose request this event answers: the contracts name it
    `requested_by_organisation_id` on every answer (a referral accepted, declined, withdrawn or
    closed; advice submitted; an LA's decision on a request an organisation made; an
    invitation declined). The same reading as the timeline's, so both decide alike."""
    return getattr(envelope.data, "requested_by_organisation_id", None) or None


BASIS_OVERSIGHT = "safeguarding_oversight"


def is_overseer(subscriber: Subscriber, about: About, setting_organisation_id: str | None) -> bool:
    """The designated safeguarding lead of the child's setting, told of every break-glass grant
    (DESIGN §3: "the designated safeguarding lead is notified"; Working Together to Safeguard
    Children 2023: the setting's DSL holds the child's safeguarding picture). They are told
    that access was granted, to whom and until when — not what was seen."""
    return (about.about == c.SafeguardingAccessGranted.TYPE and not subscriber.is_parent
            and setting_organisation_id is not None and subscriber.organisation_id == setting_organisation_id
            and subscriber.role == DSL_ROLE)


def may_see(subscriber: Subscriber, about: About, now: datetime, state: ConsentState,
            setting_organisation_id: str | None = None) -> Decision:
    """The consent decision for this person and entry, now (DESIGN §3 rules 1-5) — or, for the
    setting's DSL and a break-glass grant, the oversight that tells them of it."""
    if is_overseer(subscriber, about, setting_organisation_id):
        return Decision(True, BASIS_OVERSIGHT, f"{BASIS_OVERSIGHT}: the child's setting's designated safeguarding lead")
    return decide(subscriber.viewer(), about.entry(), now, state)


# Events that are not new entries to announce: they are told as reminders (see reminders.py),
# once per person: the consent service's expiry trigger, and the integrated review window
# opening (which also reaches the organisation that announced it).
NOT_ANNOUNCED: frozenset[str] = frozenset({c.ConsentExpiryReminderDue.TYPE, r.IntegratedReviewWindowOpened.TYPE})

# Break-glass access is not pushed to the family: HM Government's information-sharing advice
# (2024) says to tell the family that information was shared without consent *when it is safe
# to do so*, which is a practitioner's judgement, not an automatic message. The entry stays on
# the parent's timeline (the timeline service decides that at read time).
NOT_PUSHED_TO_PARENTS: frozenset[str] = frozenset({c.SafeguardingAccessGranted.TYPE})


# Break-glass access is told to the designated safeguarding leads only (DESIGN §3): the
# granted organisation's (`notify_role`) and the child's setting's. The timeline never shows
# the grant, so no one else hears of it, whatever the consent covers.
TOLD_TO_OVERSIGHT_ONLY: frozenset[str] = frozenset({c.SafeguardingAccessGranted.TYPE})


@dataclass(frozen=True)
class Addressed:
    """One recipient of a notification and the basis on which they may see it."""

    subscriber: Subscriber
    basis: str


@dataclass(frozen=True)
class Audience:
    """Who is considered before the decision: the organisations on the team at the entry's
    moment; for break-glass access, instead, only the designated safeguarding leads of the
    granted organisation and of the child's setting (DESIGN §3: "the designated safeguarding
    lead is notified")."""

    team: frozenset[str]
    oversight: frozenset[tuple[str, str]] = frozenset()  # (organisation id, role)
    author_is_told: bool = False  # reminders go to the author's organisation too
    setting: str | None = None  # the child's setting, whose DSL oversees break-glass grants

    @classmethod
    def for_entry(cls, envelope: EnvelopeBase, team: Iterable[str], setting: str | None = None) -> "Audience":
        if isinstance(envelope.data, c.SafeguardingAccessGranted):
            # A grant is told to the safeguarding leads and to no one else: not to the team
            # (a consent covering `consent` would otherwise announce it to every member, while
            # the timeline never shows it), not to the family (NOT_PUSHED_TO_PARENTS).
            oversight = {(envelope.data.organisation_id, envelope.data.notify_role)}
            if setting is not None:
                oversight.add((setting, DSL_ROLE))
            return cls(frozenset(), frozenset(oversight), setting=setting)
        return cls(frozenset(team), setting=setting)


def recipients(
    about: About,
    audience: Audience,
    subscribers: Iterable[Subscriber],
    *,
    now: datetime,
    state: ConsentState,
) -> list[Addressed]:
    """Everyone to notify about `about`, each with the basis the consent decision gave.

    A practitioner is considered when their organisation is in the team (or is the
    safeguarding oversight); the entry's authoring organisation is not told of its own entry
    (it knows), except for reminders and the safeguarding lead's oversight. A parent is
    considered for entries about their children that they did not write themselves. Then the
    decision must permit — for a practitioner on a basis other than "own", which only the
    author's organisation can have.
    """
    out: list[Addressed] = []
    for sub in subscribers:
        if not _considered(sub, about, audience):
            continue
        decision = may_see(sub, about, now, state, audience.setting)
        if decision.permitted and decision.basis is not None:
            out.append(Addressed(sub, decision.basis))
    return sorted(out, key=lambda a: a.subscriber.address)


def _considered(sub: Subscriber, about: About, audience: Audience) -> bool:
    if about.about in TOLD_TO_OVERSIGHT_ONLY:
        # Whatever audience a caller built: the safeguarding leads it names, and no one else.
        return (not sub.is_parent and (sub.organisation_id, sub.role) in audience.oversight
                and sub.person_id != about.author_person_id)
    if sub.is_parent:
        if about.child_id not in sub.children:
            return False
        if about.about in NOT_PUSHED_TO_PARENTS:
            return False
        # A parent who recorded something themselves does not need telling.
        return not (about.author_organisation_id is None and about.author_person_id == sub.person_id)
    if (sub.organisation_id, sub.role) in audience.oversight:
        return sub.person_id != about.author_person_id
    if sub.organisation_id not in audience.team:
        return False
    if sub.organisation_id == about.author_organisation_id:
        return audience.author_is_told
    return True
