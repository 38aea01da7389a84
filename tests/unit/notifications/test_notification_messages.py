"""What a notification says: the entry type in words, the child's id and a link; never the
payload, never a name (DESIGN §3, §4)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from uuid import uuid4

from schemas.catalogue import EVENT_TYPES
from schemas.events import referrals as r
from schemas.events.referrals import DueDate
from schemas.events import consent as c
from schemas.vocabulary import AUDIT, Agency, AreaOfNeed
from services.common.directory import Directory, NationalCode, Organisation
from services.notifications.domain.messages import (
    AGE_DERIVED_KINDS, DATED_KINDS, ENTRY_TITLES, REMINDER_TITLES, entry_message, reminder_message, safeguarding_message, timeline_link,
    webhook_body,
)
from services.notifications.domain.recipients import About, NOT_ANNOUNCED
from services.notifications.domain.reminders import reminders_for

from .builders import NOW, SETTING, SLT, actor, envelope

CHILD = uuid4()
URL = "https://tac.example.org/"


def test_the_link_points_at_the_entry_on_the_childs_timeline():
    event_id = uuid4()

    assert timeline_link(URL, CHILD, event_id) == f"https://tac.example.org/children/{CHILD}/timeline#{event_id}"


def test_an_entry_message_names_the_entry_type_in_words_and_links_to_it_but_holds_no_payload():
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.SENSORY_AND_OR_PHYSICAL,),
                           summary="Mia finds loud rooms distressing", evidence="Observed on 3 March by Ms Smith")
    entry = envelope(data, CHILD)

    message = entry_message(About.from_envelope(entry), URL)

    assert message.title == "A concern was raised"
    assert str(CHILD) in message.text and message.link in message.text
    for private in ("Mia", "loud rooms", "Ms Smith", "sensory", entry.actor.practitioner_id):
        assert private not in message.text and private not in message.subject


def test_every_case_and_consent_event_has_a_title_in_words():
    announced = {t for t, cls in EVENT_TYPES.items() if cls.CATEGORY != AUDIT and t not in NOT_ANNOUNCED}

    assert announced <= set(ENTRY_TITLES)


def test_a_reminder_says_what_is_due_when_and_why():
    data = r.EHCAdviceRequested(request_id=uuid4(), advice_id=uuid4(), from_organisation_id="org-ep",
                                from_agency="ep_service", requested_on=date(2026, 2, 1), due_on=date(2026, 3, 15))
    week_before = next(x for x in reminders_for(envelope(data, CHILD)) if x.offset_days == 7)

    message = reminder_message(week_before, date(2026, 3, 8), URL)

    assert message.title == "Advice for the EHC needs assessment is due"
    assert "in 7 days, on 2026-03-15" in message.text
    assert "reg. 8(1)" in message.text
    assert message.link == timeline_link(URL, CHILD, week_before.about_event_id)


def test_a_webhook_body_is_json_with_the_same_words_and_no_more():
    entry = envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING), CHILD)
    message = entry_message(About.from_envelope(entry), URL)
    notification_id = uuid4()

    body = json.loads(webhook_body(notification_id, message, NOW))

    assert body == {
        "notification_id": str(notification_id),
        "about": r.ReferralAccepted.TYPE,
        "about_event_id": str(entry.id),
        "child_id": str(CHILD),
        "title": "A referral was accepted",
        "link": message.link,
        "created_at": NOW.isoformat(),
        "organisation_id": SETTING,
    }


def _dates_in(text: str, *days: date) -> list[str]:
    spellings = [f(d) for d in days for f in (date.isoformat, lambda x: x.strftime("%d/%m/%Y"),
                                              lambda x: x.strftime("%-d %B %Y"))]
    return [s for s in spellings if s in text]


def test_the_integrated_review_window_reminder_says_what_and_why_but_no_date_in_the_mail_or_the_webhook():
    announced = date(2026, 3, 2)
    [reminder] = reminders_for(envelope(r.IntegratedReviewWindowOpened(announced_on=announced), CHILD))
    notification_id = uuid4()

    message = reminder_message(reminder, announced, URL)
    # Sent a day late (an outage): only the sending time may show, as on any message.
    body = webhook_body(notification_id, message, NOW + timedelta(days=1)).decode()

    assert message.title.startswith("The integrated review window is opening")
    assert "24 months" in message.text and "progress check at age two" in message.text
    assert _dates_in(message.text + message.subject, announced) == []
    assert "due_on" not in json.loads(body) and _dates_in(body, announced) == []


def test_a_reminder_of_an_age_derived_date_from_an_older_registration_never_says_when_not_even_in_days():
    due_on, today = date(2026, 9, 1), date(2026, 8, 25)
    dates = tuple(DueDate(kind=k, due_on=due_on, reference="EYFS / HCP / Admissions Code") for k in AGE_DERIVED_KINDS)
    registered = envelope(r.ChildRegistered(setting_organisation_id="org-setting", due_dates=dates), CHILD)

    for reminder in reminders_for(registered):
        message = reminder_message(reminder, today, URL)
        body = webhook_body(uuid4(), message, NOW).decode()  # NOW is neither `today` nor `due_on`
        assert _dates_in(message.text + body, due_on, today) == [], reminder.kind
        assert "in 7 days" not in message.text and "today" not in message.text, reminder.kind
        assert "due_on" not in json.loads(body), reminder.kind
        assert message.due_on is None, reminder.kind  # nor for the inbox to show


def test_every_reminder_kind_this_build_words_is_either_dated_or_age_derived_never_both():
    assert DATED_KINDS | AGE_DERIVED_KINDS == set(REMINDER_TITLES)
    assert not DATED_KINDS & AGE_DERIVED_KINDS


def test_a_reminder_of_a_kind_this_build_does_not_know_never_says_when():
    """A newer producer's kind in a registration's due dates could be an age in disguise."""
    due_on, today = date(2026, 9, 1), date(2026, 8, 25)
    dates = (DueDate(kind="eyfs_progress_check_at_three", due_on=due_on, reference="EYFS"),)
    registered = envelope(r.ChildRegistered(setting_organisation_id="org-setting", due_dates=dates), CHILD)

    for reminder in reminders_for(registered):
        message = reminder_message(reminder, today, URL)
        body = webhook_body(uuid4(), message, NOW).decode()
        assert message.title == "Eyfs progress check at three is due"
        assert _dates_in(message.text + body, due_on, today) == [] and "in 7 days" not in message.text
        assert "due_on" not in json.loads(body) and message.due_on is None


def test_an_ehc_reminder_gives_its_date_in_the_mail_and_the_webhook_as_it_counts_from_the_request():
    data = r.EHCAdviceRequested(request_id=uuid4(), advice_id=uuid4(), from_organisation_id="org-ep",
                                from_agency="ep_service", requested_on=date(2026, 2, 1), due_on=date(2026, 3, 15))
    on_the_day = next(x for x in reminders_for(envelope(data, CHILD)) if x.offset_days == 0)

    message = reminder_message(on_the_day, date(2026, 3, 15), URL)

    assert "today, on 2026-03-15" in message.text
    assert json.loads(webhook_body(uuid4(), message, NOW))["due_on"] == "2026-03-15"
    assert message.due_on == date(2026, 3, 15) and message.until is None


# --- organisations by their directory name -------------------------------------------------------

DIRECTORY = Directory.of(
    Organisation(id=SETTING, name="Little Acorns Nursery", agency=Agency.SETTING,
                 national_code=NationalCode(scheme="urn", value="EY100001")),
    Organisation(id=SLT, name="Brookside Speech and Language Therapy", agency=Agency.SLT_SERVICE,
                 national_code=NationalCode(scheme="ods", value="RX9SL")),
)


def test_an_entry_message_names_the_authoring_organisation_by_its_directory_name():
    entry = envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING), CHILD,
                     by=actor(SLT, "slt-1"))

    message = entry_message(About.from_envelope(entry), URL, DIRECTORY)

    assert "A new entry from Brookside Speech and Language Therapy is on the TAC timeline" in message.text
    assert SLT not in message.text
    assert message.organisation_id == SLT


def test_a_safeguarding_message_sends_the_dsl_to_the_grant_not_to_a_timeline_that_never_shows_it():
    data = c.SafeguardingAccessGranted(grant_id=uuid4(), organisation_id=SLT, justification="Disclosure today; urgent.",
                                       granted_at=NOW, expires_at=NOW + timedelta(hours=24))
    grant = envelope(data, CHILD, by=actor(SLT, "dsl-1"))

    message = safeguarding_message(About.from_envelope(grant), SLT, data.expires_at, URL, DIRECTORY)

    assert "you can see the grant in TAC under the child's safeguarding access" in message.text
    assert "Open it in TAC" not in message.text and "may see this entry" not in message.text
    assert str(grant.id) not in message.link  # no anchor to an entry the timeline does not show
    assert message.link == f"{URL.rstrip('/')}/children/{CHILD}/timeline"
    body = json.loads(webhook_body(uuid4(), message, NOW))
    assert (body["organisation_id"], body["organisation_name"]) == (SLT, "Brookside Speech and Language Therapy")


def test_an_organisation_missing_from_the_directory_is_named_by_its_id_and_a_parents_entry_by_no_one():
    stranger = envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=SETTING), CHILD,
                        by=actor("org-gone", "x-1"))
    by_parent = envelope(r.ParentObservationShared(observation_id=uuid4(), text="private words"), CHILD,
                         by=actor(None, "parent-1"))

    unnamed = entry_message(About.from_envelope(stranger), URL, DIRECTORY)
    own = entry_message(About.from_envelope(by_parent), URL, DIRECTORY)

    assert "A new entry from organisation org-gone is on" in unnamed.text
    assert "organisation_name" not in json.loads(webhook_body(uuid4(), unnamed, NOW))
    assert "A new entry is on the TAC timeline" in own.text
    assert own.organisation_id is None and "organisation_id" not in own.extra


def test_a_safeguarding_message_names_the_granted_organisation_by_name_and_never_the_justification():
    data = c.SafeguardingAccessGranted(grant_id=uuid4(), organisation_id=SLT, justification="Disclosure today; urgent.",
                                       granted_at=NOW, expires_at=NOW + timedelta(hours=24))
    grant = envelope(data, CHILD, by=actor(SLT, "dsl-1"))

    message = safeguarding_message(About.from_envelope(grant), SLT, data.expires_at, URL, DIRECTORY)

    assert message.text.startswith("Safeguarding access to the child's record was granted.\n\n"
                                   "Brookside Speech and Language Therapy was granted safeguarding access")
    assert "Disclosure" not in message.text and SLT not in message.text
    assert message.extra["organisation_name"] == "Brookside Speech and Language Therapy"
    assert message.organisation_id == SLT
    assert (message.until, message.due_on) == (data.expires_at, None)
