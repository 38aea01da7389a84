"""Rule 3 (`own_request`) in notifications, on the real broker and both stores: an organisation
that made a request is told its answer — a referral accepted, declined or closed, the advice
it asked for — with no consent naming it, by inbox, e-mail and webhook, because the
requester is kept with the inbox item and the delivery job and the decision is run again at
delivery and at every inbox read. Another organisation of the same agency on the team, which
asked for nothing, is told nothing. Messages and inbox items name organisations by their
name in the configured directory (TAC_DIRECTORY_PATH)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

from sqlalchemy import select

from schemas.envelope import Actor
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import DSL_ROLE, Agency, Category, TeamJoinRoute
from services.notifications.adapters import store
from tests.unit.notifications.builders import consent_granted, envelope

DIRECTORY = Path(__file__).with_name("organisations.yaml")

SETTING = Actor(practitioner_id="priya", organisation_id="little-acorns", agency=Agency.SETTING, role="senco")
OTHER_SETTING = Actor(practitioner_id="tom", organisation_id="tall-oaks", agency=Agency.SETTING, role="senco")
SLT = Actor(practitioner_id="sam", organisation_id="brookside-slt", agency=Agency.SLT_SERVICE, role="slt")
EP = Actor(practitioner_id="erin", organisation_id="brookside-ep", agency=Agency.EP_SERVICE, role="ep")
LA = Actor(practitioner_id="maria", organisation_id="brookside-sen", agency=Agency.LA_SEN_TEAM, role="caseworker")
OTHER_LA = Actor(practitioner_id="olly", organisation_id="eastvale-sen", agency=Agency.LA_SEN_TEAM, role="caseworker")
SECRET = "a-webhook-secret-of-some-length"


def now() -> datetime:
    return datetime.now(timezone.utc)


def joined(child, who: Actor, route=TeamJoinRoute.REFERRAL_ACCEPTED):
    return envelope(r.TeamMemberJoined(organisation_id=who.organisation_id, agency=who.agency, role=who.role,
                                       joined_through=route), child, by=SETTING, at=now())


async def a_team_without_consent_for_the_setting(running, child):
    """Both settings, the SLT, the EP service and both LAs on the team; the one consent names the
    EP service only, for concerns: nothing in it reaches a setting or an LA."""
    await running.publish(
        envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child, by=SETTING, at=now()),
        joined(child, OTHER_SETTING, TeamJoinRoute.INVITATION), joined(child, SLT), joined(child, EP),
        joined(child, LA, TeamJoinRoute.EHC_REQUEST), joined(child, OTHER_LA, TeamJoinRoute.INVITATION),
        consent_granted(child, orgs=(EP.organisation_id,), categories=(Category.CONCERN,),
                        valid_from=now() - timedelta(minutes=5)))
    await running.until_processed(7)


def about(items, event) -> list[dict]:
    return [i for i in items if i["about_event_id"] == str(event.id)]


async def test_the_requester_is_told_every_answer_to_its_own_requests_and_no_one_else_of_its_agency_is(
    start_service, smtp_server, webhook_receiver
):
    _, sink = smtp_server
    child = uuid4()
    async with start_service(directory_path=DIRECTORY) as running:
        await a_team_without_consent_for_the_setting(running, child)
        await running.subscribe(SETTING, email="priya@example.test", webhook_url=webhook_receiver.url("/priya"),
                                webhook_secret=SECRET)
        await running.subscribe(OTHER_SETTING, email="tom@example.test")
        await running.subscribe(LA, email="maria@example.test")
        await running.subscribe(OTHER_LA, email="olly@example.test")
        requester = SETTING.organisation_id
        answers = [
            envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id=requester), child, by=SLT,
                     at=now()),
            envelope(r.ReferralDeclined(referral_id=uuid4(), requested_by_organisation_id=requester,
                                        reason="Seen by another service"), child, by=SLT, at=now()),
            envelope(r.ReferralClosed(referral_id=uuid4(), requested_by_organisation_id=requester,
                                      outcome="Programme complete"), child, by=SLT, at=now()),
        ]
        advice = envelope(r.EHCAdviceSubmitted(request_id=uuid4(), advice_id=uuid4(),
                                               requested_by_organisation_id=LA.organisation_id,
                                               submitted_on=date.today(), summary="Needs a quiet space"),
                          child, by=EP, at=now())
        await running.publish(*answers, advice)
        await running.until_processed(11)
        await running.until(lambda: len(sink.to("priya@example.test")) == 3 and len(webhook_receiver.at("/priya")) == 3
                            and len(sink.to("maria@example.test")) == 1, what="the requesters' e-mails and webhooks")
        await running.service.delivery.run_once()  # any e-mail that should not exist has had its chance

        # The inbox, read now: the decision runs again and finds the requester in the stored item.
        inbox = await running.inbox(SETTING)
        for answer in answers:
            [item] = about(inbox, answer)
            assert (item["organisation_id"], item["organisation_name"]) == (
                "brookside-slt", "Brookside Speech and Language Therapy")
            assert "from Brookside Speech and Language Therapy" in item["text"]
        [item] = about(await running.inbox(LA), advice)
        assert (item["organisation_id"], item["organisation_name"]) == ("brookside-ep",
                                                                        "Brookside Educational Psychology")
        response = await running.client.post(f"/inbox/{item['notification_id']}/read", headers=running.headers(LA))
        assert response.status_code == 200
        assert response.json()["organisation_name"] == "Brookside Educational Psychology"
        # The same agency, on the same team, asked for nothing: told nothing, anywhere.
        assert await running.inbox(OTHER_SETTING) == [] and await running.inbox(OTHER_LA) == []
        assert sink.to("tom@example.test") == [] and sink.to("olly@example.test") == []
        assert [str(advice.id) in m.text for m in sink.to("priya@example.test")] == [False, False, False]

        # The delivery worker decided again at each attempt, on rule 3: sent, not withheld.
        with running.service.sessions() as session:
            rows = session.execute(select(store.delivery_jobs.c.status, store.delivery_jobs.c.answers_request_of,
                                          store.delivery_jobs.c.named_organisation_id)
                                   .where(store.delivery_jobs.c.child_id == str(child))).all()
        assert sorted(rows) == sorted([("sent", requester, "brookside-slt")] * 9  # inbox, e-mail, webhook
                                      + [("sent", LA.organisation_id, "brookside-ep")] * 2)  # inbox, e-mail
        assert all("Brookside Speech and Language Therapy" in m.text for m in sink.to("priya@example.test"))
        hooks = [json.loads(h.body) for h in webhook_receiver.at("/priya")]
        assert {(h["organisation_id"], h["organisation_name"]) for h in hooks} == {
            ("brookside-slt", "Brookside Speech and Language Therapy")}


async def test_the_settings_dsl_reads_the_granted_organisation_by_name(start_service):
    child = uuid4()
    dsl = Actor(practitioner_id="hannah", organisation_id="little-acorns", agency=Agency.SETTING, role=DSL_ROLE)
    async with start_service(directory_path=DIRECTORY) as running:
        await a_team_without_consent_for_the_setting(running, child)
        await running.subscribe(dsl)
        data = c.SafeguardingAccessGranted(
            grant_id=uuid4(), organisation_id=SLT.organisation_id, justification="A disclosure at therapy today.",
            granted_at=now(), expires_at=now() + timedelta(hours=24))
        grant = envelope(data, child, by=Actor(practitioner_id="sl", organisation_id=SLT.organisation_id,
                                               agency=Agency.SLT_SERVICE, role=DSL_ROLE), at=now())
        await running.publish(grant)
        await running.until(lambda: running.processed() >= 8, what="the grant")

        [item] = about(await running.inbox(dsl), grant)
        assert (item["organisation_id"], item["organisation_name"]) == ("brookside-slt",
                                                                        "Brookside Speech and Language Therapy")
        assert "Brookside Speech and Language Therapy was granted safeguarding access" in item["text"]
        assert "disclosure" not in item["text"].lower()


async def test_an_item_written_before_the_requester_was_kept_names_no_one_and_stays_the_decisions(start_service):
    """Rows from before migration 0003 hold no requester: rule 3 cannot apply to them, so they
    are shown only on the other rules (here, none), never on a guess."""
    child = uuid4()
    async with start_service(directory_path=DIRECTORY) as running:
        await a_team_without_consent_for_the_setting(running, child)
        await running.subscribe(SETTING)
        accepted = envelope(r.ReferralAccepted(referral_id=uuid4(), requested_by_organisation_id="little-acorns"),
                            child, by=SLT, at=now())
        await running.publish(accepted)
        await running.until(lambda: running.processed() >= 8, what="the answer")
        await running.until(lambda: bool(_inbox_rows(running, child)), what="the item")
        assert len(about(await running.inbox(SETTING), accepted)) == 1

        with running.service.sessions.begin() as session:
            session.execute(store.inbox.update().where(store.inbox.c.child_id == str(child))
                            .values(answers_request_of=None, named_organisation_id=None))

        assert about(await running.inbox(SETTING), accepted) == []


def _inbox_rows(running, child) -> list:
    with running.service.sessions() as session:
        return session.execute(select(store.inbox.c.notification_id).where(store.inbox.c.child_id == str(child))).all()
