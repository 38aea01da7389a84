"""What a notification says (DESIGN §3, §4).

A message carries the entry type (or reminder) in words, the child's pseudonymous id, the
organisation it is from (by its name in the organisation directory, DESIGN §4 "Reference
data") and a link to the timeline, where the detail is shown after a fresh consent check. It
never carries payload content or a person's name (this service never holds people's names), so
a parent's message cannot name other people, and a practitioner's message cannot disclose what
the timeline would refuse them: the authoring organisation is part of the entry each recipient
is permitted to see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from schemas.events import consent as c
from schemas.events import referrals as r
from services.common.directory import Directory
from services.notifications.domain.recipients import About

if TYPE_CHECKING:
    from services.notifications.domain.reminders import Reminder

ENTRY_TITLES: dict[str, str] = {
    r.ChildRegistered.TYPE: "The child was registered with TAC",
    r.ConcernRaised.TYPE: "A concern was raised",
    r.ReferralMade.TYPE: "A referral was made",
    r.ReferralAccepted.TYPE: "A referral was accepted",
    r.ReferralDeclined.TYPE: "A referral was declined",
    r.ReferralWithdrawn.TYPE: "A referral was withdrawn",
    r.ReferralClosed.TYPE: "A referral was closed",
    r.TeamMemberJoined.TYPE: "An organisation joined the team around the child",
    r.TeamMemberLeft.TYPE: "An organisation left the team around the child",
    r.SLTReportShared.TYPE: "A speech and language therapy report was shared",
    r.EPAdviceShared.TYPE: "Educational psychology advice was shared",
    r.IntegratedReviewScheduled.TYPE: "An integrated review was scheduled",
    r.IntegratedReviewCompleted.TYPE: "An integrated review was completed",
    r.EHCAssessmentRequested.TYPE: "An EHC needs assessment was requested",
    r.EHCAssessmentStarted.TYPE: "The local authority decided to carry out an EHC needs assessment",
    r.EHCAssessmentDeclined.TYPE: "The local authority decided not to carry out an EHC needs assessment",
    r.EHCAdviceRequested.TYPE: "Advice for an EHC needs assessment was requested",
    r.EHCAdviceSubmitted.TYPE: "Advice for an EHC needs assessment was submitted",
    r.EHCDraftPlanIssued.TYPE: "A draft EHC plan was issued",
    r.EHCPlanFinalised.TYPE: "The EHC plan was finalised",
    r.TransitionToSchoolPlanned.TYPE: "Transition to school was planned",
    r.TransitionToSchoolCompleted.TYPE: "Transition to school was completed",
    r.FamilySupportOffered.TYPE: "Family support was offered",
    r.InvitationSent.TYPE: "An organisation was invited to join the team around the child",
    r.InvitationDeclined.TYPE: "An invitation to join the team around the child was declined",
    r.KeyPersonNamed.TYPE: "The child's key person was named",
    r.ParentObservationShared.TYPE: "A parent shared an observation of their child",
    r.EHCParentViewsGiven.TYPE: "A parent gave their views for the EHC needs assessment",
    c.ConsentGranted.TYPE: "Consent to share information was given",
    c.ConsentWithdrawn.TYPE: "Consent to share information was withdrawn",
    c.ConsentExpired.TYPE: "Consent to share information expired",
    c.SafeguardingAccessGranted.TYPE: "Safeguarding access to the child's record was granted",
}


def entry_title(event_type: str) -> str:
    return ENTRY_TITLES.get(event_type, "A new entry was added to the timeline")


@dataclass(frozen=True)
class Message:
    """What a recipient is sent, on every channel alike."""

    title: str
    text: str
    link: str
    child_id: UUID
    about: str
    about_event_id: UUID
    extra: dict[str, str] = field(default_factory=dict)
    # The organisation the message names (the entry's author, or the organisation granted
    # break-glass access): the inbox API gives its id with its directory name.
    organisation_id: str | None = None
    # The day a reminder's deadline falls on (None unless its kind is one of DATED_KINDS: the
    # day could be the child's age in disguise), and the end of a break-glass grant: what the inbox shows
    # beside the title, the text's words for a page.
    due_on: date | None = None
    until: datetime | None = None

    @property
    def subject(self) -> str:
        return f"TAC: {self.title}"


NO_DIRECTORY = Directory({})


def organisation_words(organisation_id: str, directory: Directory) -> str:
    """An organisation as people know it: its directory name; its id only when the directory
    does not list it (an organisation since removed from the reference data)."""
    return directory.name_of(organisation_id) or f"organisation {organisation_id}"


def _naming(organisation_id: str | None, directory: Directory) -> dict[str, str]:
    """The machine-readable naming of an organisation for the webhook body."""
    if organisation_id is None:
        return {}
    name = directory.name_of(organisation_id)
    return {"organisation_id": organisation_id, **({"organisation_name": name} if name else {})}


def email_message_id(notification_id: UUID) -> str:
    """The Message-ID of every e-mail of one notification. Delivery is at least once (a crash
    between sending and recording it sends again); the same Message-ID on each attempt lets a
    mail system or client tell a resend from a second message, as webhook receivers do by
    notification_id."""
    return f"<{notification_id}@tac.invalid>"


def child_link(public_url: str, child_id: UUID) -> str:
    return f"{public_url.rstrip('/')}/children/{child_id}/timeline"


def timeline_link(public_url: str, child_id: UUID, event_id: UUID) -> str:
    return f"{child_link(public_url, child_id)}#{event_id}"


def entry_message(about: About, public_url: str, directory: Directory = NO_DIRECTORY) -> Message:
    """The entry in words, from its authoring organisation by name (a parent's own entry is
    from no organisation)."""
    link = timeline_link(public_url, about.child_id, about.event_id)
    title = entry_title(about.about)
    author = about.author_organisation_id
    source = "" if author is None else f" from {organisation_words(author, directory)}"
    text = (
        f"{title}.\n\n"
        f"A new entry{source} is on the TAC timeline of child {about.child_id}.\n"
        f"Open it in TAC to read it: {link}\n\n"
        "You are told because TAC's sharing rules let you see this entry. "
        "This message holds no detail; the timeline shows it after checking consent again."
    )
    return Message(title, text, link, about.child_id, about.about, about.event_id,
                   extra=_naming(author, directory), organisation_id=author)


def safeguarding_message(about: About, organisation_id: str, until: datetime, public_url: str,
                         directory: Directory = NO_DIRECTORY) -> Message:
    """A break-glass grant, told to the designated safeguarding leads only (see recipients):
    which organisation (by name), until when. Never the justification (it may hold what the
    child disclosed). The timeline never shows a grant, so the message does not send the DSL
    to an entry there: the consent service lists the grants of the child (to the granted
    organisation, and to the setting's DSL), and the link is the child's record."""
    link = child_link(public_url, about.child_id)
    title = entry_title(about.about)
    granted = organisation_words(organisation_id, directory)
    text = (
        f"{title}.\n\n"
        f"{granted[0].upper()}{granted[1:]} was granted safeguarding access to the TAC record of child "
        f"{about.child_id} until {until.isoformat()}.\n"
        "As a designated safeguarding lead, you can see the grant in TAC under the child's safeguarding access.\n"
        f"The child's record in TAC: {link}\n\n"
        "You are told as a designated safeguarding lead. This message holds no detail of why."
    )
    extra = {**_naming(organisation_id, directory), "until": until.isoformat()}
    return Message(title, text, link, about.child_id, about.about, about.event_id, extra=extra,
                   organisation_id=organisation_id, until=until)


# Reminder kinds in words. The DueDate kinds are the referrals service's (services/referrals/
# clock.py); an unknown kind is still announced, in generic words.
REMINDER_TITLES: dict[str, str] = {
    "integrated_review_reminder": "The integrated review window opens next month: time to arrange it",
    "integrated_review_window_opens": "The integrated review window is opening",
    "hcp_two_year_review": "The Healthy Child Programme 2-2½ year review is due",
    "eyfs_progress_check_at_two": "The EYFS progress check at two is due",
    "transition_planning_starts": "Transition-to-school planning starts",
    "reception_place_from": "A reception place becomes available",
    "ehc_decision_to_assess": "The decision whether to carry out an EHC needs assessment is due",
    "ehc_notice_if_no_plan": "If no EHC plan will be issued, the parent must be told by this date",
    "ehc_final_plan": "The final EHC plan is due",
    "ehc_advice": "Advice for the EHC needs assessment is due",
    "ehc_draft_plan_comments": "Comments on the draft EHC plan are due",
    "integrated_review": "The integrated review is due",
    "consent_expiry": "Consent to share information expires",
    "consent_expiry_reminder": "Consent to share information expires soon",
    "referral_waiting_target": "The referral waiting-time target is reached",
}


# Kinds whose date is the child's age in disguise: the date of birth plus so many months (the
# integrated review window, the health and EYFS reviews at two) or the school year it falls in
# (transition planning, the reception place). Older ChildRegistered events carried such dates;
# IntegratedReviewWindowOpened arrives on the day instead, and its day is an age too. A message
# about one says what is due and why but never when: a date there would let whoever reads the
# e-mail or receives the webhook work out the child's date of birth, which DESIGN §2 keeps off
# the bus and out of every service but referrals.
AGE_DERIVED_KINDS: frozenset[str] = frozenset({
    "integrated_review_reminder", "integrated_review_window_opens", "hcp_two_year_review",
    "eyfs_progress_check_at_two", "transition_planning_starts", "reception_place_from",
})

# Kinds whose day may be told: a deadline counted from something done on the case (a request
# for an EHC needs assessment or for advice, a draft plan issued, a review booked, a consent
# given, a referral made), never from the child's birth. A kind must be named here to have its
# day told: every other one is told without it, the age-derived kinds above and any kind this
# build does not know (a newer producer's, in a ChildRegistered's or an EHC request's due dates),
# which could be an age as well. (Until 2026-12-04 the rule was the other way round, so an
# unknown kind's day was told.)
DATED_KINDS: frozenset[str] = frozenset({
    "ehc_decision_to_assess", "ehc_notice_if_no_plan", "ehc_final_plan", "ehc_advice", "ehc_draft_plan_comments",
    "integrated_review", "consent_expiry", "consent_expiry_reminder", "referral_waiting_target",
})

AGE_WHEN: dict[str, str] = {
    "integrated_review_window_opens": "nearing 24 months, so it is time to plan the integrated review at two",
}


def reminder_title(kind: str) -> str:
    return REMINDER_TITLES.get(kind) or f"{kind.replace('_', ' ').capitalize()} is due"


def _when(due_on: date, today: date) -> str:
    days = (due_on - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days > 1:
        return f"in {days} days"
    return "yesterday" if days == -1 else f"{-days} days ago"


def reminder_message(reminder: "Reminder", today: date, public_url: str) -> Message:
    link = timeline_link(public_url, reminder.child_id, reminder.about_event_id)
    title = reminder_title(reminder.kind)
    if reminder.kind not in DATED_KINDS:
        # Not even "in 7 days": today plus seven is a date too.
        when, extra, due_on = AGE_WHEN.get(reminder.kind, "the date is on the child's record in TAC"), {}, None
    else:
        when = f"{_when(reminder.due_on, today)}, on {reminder.due_on.isoformat()}"
        extra, due_on = {"due_on": reminder.due_on.isoformat()}, reminder.due_on
    text = (
        f"Reminder: {title}.\n\n"
        f"Child {reminder.child_id}: {when}.\n"
        f"Why: {reminder.reference}\n"
        f"Open the timeline in TAC: {link}"
    )
    return Message(title, text, link, reminder.child_id, reminder.kind, reminder.about_event_id, extra=extra,
                   due_on=due_on)


def webhook_body(notification_id: UUID, message: Message, created_at: datetime) -> bytes:
    """The JSON a webhook receives: the same words as the e-mail, and ids a machine can use.
    Stable across retries (the receiver de-duplicates by `notification_id`); the signature
    headers change with each attempt's timestamp."""
    body = {
        "notification_id": str(notification_id),
        "about": message.about,
        "about_event_id": str(message.about_event_id),
        "child_id": str(message.child_id),
        "title": message.title,
        "link": message.link,
        "created_at": created_at.isoformat(),
        **message.extra,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
