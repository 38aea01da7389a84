"""The story of ../shared/SCENARIO.md, played through the services' real HTTP APIs.

Dates are computed from the day it runs: Amara is 26 months old today; the EHC needs
assessment request reached the local authority five weeks and two days ago, so that Maria's
decision to assess falls in week 5 and the clock shows where the 20 weeks stand today.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from demo.cast import ADA, DANA, GRACE, HALL, JO, KIT, LEE, MARIA, PRIYA, SAM, Person
from demo.client import Api, StoryError
from demo.story import ALL_CATEGORIES, Entry, Story, months_before  # noqa: F401 - the story's words, for its readers
from demo.waiting import joined, told


def play(api: Api, today: date, *, through_step: int = 13) -> Story:
    """Play the story; `through_step` stops it after that numbered step (9: before Ada's own
    decisions of steps 10 and 11, which a browser test makes in the parent's pages instead)."""
    if through_step not in (9, 13):
        raise ValueError(f"play() stops after step 9 or 13, not {through_step}")
    story = Story(today=today)
    dob = months_before(today, 26)

    # 1. Sunflower Nursery registers Amara: the setting is on her team from then on.
    child = api.call(PRIYA, "POST", "referrals", "/children", json={
        "given_name": "Amara", "family_name": "Okoro", "date_of_birth": dob.isoformat()})
    story.child_id = cid = UUID(str(child["child_id"]))
    api.children = (cid,)
    story.add("Amara registered", child, PRIYA, "referral")
    api.call(ADA, "PUT", "notifications", "/subscriptions/me", json={})  # Ada's in-app inbox

    # 2. Priya records Ada's consent, given on paper: one record per recipient, as Ada gave
    #    each recipient its own categories. Purpose: referral and coordination; 12 months.
    def grant(label: str, who: Person, recipients: dict, categories: list[str], purposes: list[str], **extra) -> None:
        body = {
            "given_by": {"name": "Ada Okoro", "relationship": "mother", "has_parental_responsibility": True},
            "recipients": recipients, "categories": categories, "purposes": purposes, **extra,
        }
        response = api.call(who, "POST", "consent", f"/children/{cid}/consents", json=body, retry_on=(403, 404, 409))
        story.consents[label] = UUID(str(response["consent_id"]))
        story.add(f"consent {label} granted", response, who, "consent")

    grant("C1a", PRIYA, {"agencies": ["area_senco"]}, ["concern", "referral", "progress"], ["referral", "coordination"])
    grant("C1b", PRIYA, {"organisation_ids": ["riverside-slt"]}, ["concern", "referral", "slt", "progress"],
          ["referral", "coordination"])
    grant("C1c", PRIYA, {"agencies": ["health_visiting"]}, ["concern", "health", "progress", "slt"],
          ["referral", "coordination"])
    # The nursery itself may see what the others share back.
    grant("C1s", PRIYA, {"organisation_ids": ["sunflower-nursery"]}, ["referral", "slt", "health", "progress"],
          ["referral", "coordination"])

    # 3. Priya raises a concern.
    story.add("concern raised", api.call(PRIYA, "POST", "referrals", f"/children/{cid}/concerns", json={
        "areas_of_need": ["communication_and_interaction"],
        "summary": "Few words; not yet combining two words.",
        "evidence": "Key person observations over six weeks; parent reports the same at home."}), PRIYA, "concern")

    # 4. Priya refers Amara to the area SENCO team and to Riverside SLT (each needs a consent
    #    the referrals service has already consumed: retry while it catches up).
    for label, org, agency in (("area SENCO", "northbridge-inclusion", "area_senco"), ("SLT", "riverside-slt", "slt_service")):
        response = api.call(PRIYA, "POST", "referrals", f"/children/{cid}/referrals", json={
            "to_organisation_id": org, "to_agency": agency,
            "reason": "Emerging speech and language delay; advice and assessment requested."}, retry_on=(409,))
        story.referrals[label] = UUID(str(response["referral_id"]))
        story.add(f"referral to {label}", response, PRIYA, "referral")

    # 5. Dana accepts; Sam accepts: accepting puts their organisations on the team around Amara.
    #    Priya sees both answers: they answer her requests.
    for person, label in ((DANA, "area SENCO"), (SAM, "SLT")):
        story.add(f"{label} referral accepted", api.call(
            person, "POST", "referrals", f"/referrals/{story.referrals[label]}/accept"), person, "referral")
        joined(api, story, person)

    # 6. Priya invites Northbridge Health Visiting; Grace accepts, schedules the integrated review
    #    with the nursery, then completes it.
    invitation = api.call(PRIYA, "POST", "referrals", f"/children/{cid}/invitations", json={
        "organisation_id": GRACE.organisation_id,
        "message": "Would you join Amara's team for the integrated review at two?"})
    story.add("health visiting invited", invitation, PRIYA, "referral")
    api.call(GRACE, "POST", "referrals", f"/invitations/{invitation['invitation_id']}/accept")
    joined(api, story, GRACE)
    review = api.call(GRACE, "POST", "referrals", f"/children/{cid}/integrated-reviews", json={
        "scheduled_for": today.isoformat(), "with_organisation_id": PRIYA.organisation_id})
    story.add("integrated review scheduled", review, GRACE, "health")
    story.add("integrated review completed", api.call(GRACE, "POST", "referrals",
        f"/integrated-reviews/{review['review_id']}/complete", json={
            "completed_on": today.isoformat(),
            "outcomes": {"communication_and_language": "emerging", "physical_development": "expected",
                         "personal_social_and_emotional": "expected"}}), GRACE, "progress")

    # 7. Sam shares the SLT report.
    story.add("SLT report shared", api.call(SAM, "POST", "referrals", f"/children/{cid}/slt-reports", json={
        "assessment_summary": "Expressive language delay; understanding within the expected range.",
        "programme": "Daily shared-book and modelling programme for nursery and home, reviewed in 8 weeks.",
        "recommendations": ["Model two-word phrases", "Reduce questions, increase comments"]}), SAM, "slt")

    # 8. Ada agrees to an EHC needs assessment: a second consent, then the request, which puts
    #    the SEN team on the team (a statutory request the LA must answer, reg. 5).
    grant("C2", PRIYA, {"agencies": ["la_sen_team", "ep_service"]}, ALL_CATEGORIES, ["assessment"])
    story.ehc_received_on = today - timedelta(weeks=5, days=2)
    ehc = api.call(PRIYA, "POST", "referrals", f"/children/{cid}/ehc-requests", json={
        "la_organisation_id": MARIA.organisation_id, "received_on": story.ehc_received_on.isoformat()},
        retry_on=(409,))  # until the referrals service has consumed consent C2
    story.ehc_request_id = UUID(str(ehc["request_id"]))
    story.add("EHC assessment requested", ehc, PRIYA, "ehc")
    joined(api, story, MARIA, before_request=True)

    # 9. Maria decides to assess in week 5 and asks Dr Chen for advice (the EP service joins).
    decided_on = story.ehc_received_on + timedelta(weeks=5)
    story.add("EHC assessment started", api.call(MARIA, "POST", "referrals",
        f"/ehc-requests/{story.ehc_request_id}/start", json={"decided_on": decided_on.isoformat()}), MARIA, "ehc")
    advice = api.call(MARIA, "POST", "referrals", f"/ehc-requests/{story.ehc_request_id}/advice-requests", json={
        "from_organisation_id": LEE.organisation_id, "from_agency": "ep_service", "requested_on": decided_on.isoformat()})
    story.advice_id = UUID(str(advice["advice_id"]))
    story.add("EP advice requested", advice, MARIA, "ehc")
    joined(api, story, LEE, before_request=True)
    if through_step < 10:
        return story

    # 10. Ada adds Elm Street Family Hub to the team; Jo offers family support. No consent
    #     names the family hub.
    api.call(ADA, "POST", "referrals", f"/children/{cid}/team", json={"organisation_id": JO.organisation_id})
    joined(api, story, JO)
    story.add("family support offered", api.call(JO, "POST", "referrals", f"/children/{cid}/family-support", json={
        "summary": "Stay-and-play sessions and a parenting group offered to the family."}), JO, "family_support")

    # 11. Ada withdraws the health-visiting consent; Priya records a narrower one without `slt`.
    #     The notifications service has announced the SLT report first (it tells everyone of an
    #     entry at once, Ada included): notifications are eventually consistent, and a withdrawal
    #     consumed before the report would rightly withhold Grace's message.
    told(api, ADA, story, "SLT report shared")
    withdrawal = api.call(ADA, "POST", "consent", f"/children/{cid}/consents/{story.consents['C1c']}/withdrawal", json={})
    story.add("consent C1c withdrawn", withdrawal, ADA, "consent")
    grant("C1d", PRIYA, {"agencies": ["health_visiting"]}, ["concern", "health", "progress"], ["referral", "coordination"])

    # 12. Priya plans transition to Oak Lane Primary for the September after the 4th birthday,
    #     which puts the school on the team.
    september = date(dob.year + 4 + (1 if (dob.month, dob.day) >= (9, 1) else 0), 9, 1)
    story.add("transition to school planned", api.call(PRIYA, "POST", "referrals", f"/children/{cid}/transition", json={
        "school_organisation_id": HALL.organisation_id, "starts_on": september.isoformat(),
        "plan_summary": "Visits in the summer term; SLT programme handed over; staggered start."}), PRIYA, "transition")
    joined(api, story, HALL, before_request=True)

    # 13. Kit Ward of Westshire — an area SENCO team, the kind C1a names, with no link to Amara —
    #     tries to join, to read and to post. Each answer must be the one a made-up child gets.
    story.stranger_refusals = stranger_attempts(api, cid)
    return story


# Step 13's attempts: (what Kit tries, service, method, path template, body).
STRANGER_ATTEMPTS = (
    ("add Westshire to the team", "referrals", "POST", "/children/{cid}/team", {"organisation_id": KIT.organisation_id}),
    ("read the child's record", "referrals", "GET", "/children/{cid}", None),
    ("read the team", "referrals", "GET", "/children/{cid}/team", None),
    ("post advice", "referrals", "POST", "/children/{cid}/ep-advice", {"summary": "Advice from Westshire."}),
    ("raise a concern", "referrals", "POST", "/children/{cid}/concerns", {
        "areas_of_need": ["communication_and_interaction"], "summary": "Westshire's concern."}),
    ("list consents", "consent", "GET", "/children/{cid}/consents", None),
)


def stranger_attempts(api: Api, cid: UUID) -> list[str]:
    """Kit's attempts on Amara and on a made-up child: each must be refused with the same
    answer, so nothing tells Kit that Amara exists. Returns one line per attempt."""
    made_up = UUID(int=cid.int ^ 0xFFFF)
    lines = []
    for what, service, method, template, body in STRANGER_ATTEMPTS:
        answers = [api.raw(KIT, method, service, template.format(cid=c), json=body) for c in (cid, made_up)]
        (real_status, real_body), (fake_status, fake_body) = answers
        same = real_status == fake_status and _shape(real_body) == _shape(fake_body)
        refused = real_status in (403, 404)
        lines.append(f"Kit tries to {what}: {real_status} ({'refused' if refused else 'ALLOWED'}; "
                     f"{'the same answer as for a made-up child' if same else 'DIFFERS from a made-up child'})")
        if not (refused and same):
            raise StoryError(lines[-1])
    timeline = api.call(KIT, "GET", "timeline", f"/children/{cid}/timeline", params={"limit": 1000})
    lines.append(f"Kit reads the timeline: {len(timeline['entries'])} entries")
    if timeline["entries"]:
        raise StoryError(lines[-1])
    return lines


def _shape(body):
    """A body's shape: keys and value types, not values (a 404's detail names the id asked for)."""
    if isinstance(body, dict):
        return {k: _shape(v) for k, v in body.items() if k != "detail"} | ({"detail": type(body["detail"]).__name__} if "detail" in body else {})
    if isinstance(body, list):
        return [_shape(v) for v in body[:1]]
    return type(body).__name__
