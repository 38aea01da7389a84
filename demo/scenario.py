"""The story of ../shared/SCENARIO.md, played through the services' real HTTP APIs.

Dates are computed from the day it runs: Amara is 26 months old today; the EHC needs
assessment request reached the local authority five weeks and two days ago, so that Maria's
decision to assess falls in week 5 and the clock shows where the 20 weeks stand today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from demo.cast import ADA, DANA, GRACE, HALL, JO, LEE, MARIA, PRIYA, SAM, Person
from demo.client import Api

ALL_CATEGORIES = ["concern", "referral", "progress", "health", "slt", "ep", "ehc", "transition", "family_support", "consent"]


@dataclass(frozen=True)
class Entry:
    """A fact the story created, as the people will meet it on the timeline."""

    label: str
    event_id: UUID
    author: Person
    category: str


@dataclass
class Story:
    today: date
    child_id: UUID | None = None
    entries: list[Entry] = field(default_factory=list)
    consents: dict[str, UUID] = field(default_factory=dict)  # story label (C1a, ...) -> consent id
    referrals: dict[str, UUID] = field(default_factory=dict)
    ehc_request_id: UUID | None = None
    ehc_received_on: date | None = None
    advice_id: UUID | None = None

    def add(self, label: str, response: dict, author: Person, category: str) -> None:
        self.entries.append(Entry(label, UUID(str(response["event_id"])), author, category))


def months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in range(day.day, 27, -1):  # clamp to the month's end (e.g. 31 -> 30)
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def play(api: Api, today: date) -> Story:
    story = Story(today=today)
    dob = months_before(today, 26)

    # 1. Sunflower Nursery registers Amara.
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

    # 5. Dana accepts; Sam accepts. Both join the team around Amara.
    for person, label in ((DANA, "area SENCO"), (SAM, "SLT")):
        story.add(f"{label} referral accepted", api.call(
            person, "POST", "referrals", f"/referrals/{story.referrals[label]}/accept"), person, "referral")
        story.add(f"{person.team} joined the team", join(api, person, cid), person, "referral")

    # 6. Grace joins, schedules the integrated review with the nursery, then completes it.
    story.add(f"{GRACE.team} joined the team", join(api, GRACE, cid), GRACE, "referral")
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

    # 8. Ada agrees to an EHC needs assessment: a second consent, then the request.
    grant("C2", PRIYA, {"agencies": ["la_sen_team", "ep_service"]}, ALL_CATEGORIES, ["assessment"])
    story.ehc_received_on = today - timedelta(weeks=5, days=2)
    ehc = api.call(PRIYA, "POST", "referrals", f"/children/{cid}/ehc-requests", json={
        "la_organisation_id": MARIA.organisation_id, "received_on": story.ehc_received_on.isoformat()},
        retry_on=(409,))  # until the referrals service has consumed consent C2
    story.ehc_request_id = UUID(str(ehc["request_id"]))
    story.add("EHC assessment requested", ehc, PRIYA, "ehc")

    # 9. Maria decides to assess in week 5 and asks Dr Chen for advice.
    story.add(f"{MARIA.team} joined the team", join(api, MARIA, cid), MARIA, "referral")
    decided_on = story.ehc_received_on + timedelta(weeks=5)
    story.add("EHC assessment started", api.call(MARIA, "POST", "referrals",
        f"/ehc-requests/{story.ehc_request_id}/start", json={"decided_on": decided_on.isoformat()}), MARIA, "ehc")
    advice = api.call(MARIA, "POST", "referrals", f"/ehc-requests/{story.ehc_request_id}/advice-requests", json={
        "from_organisation_id": LEE.organisation_id, "from_agency": "ep_service", "requested_on": decided_on.isoformat()})
    story.advice_id = UUID(str(advice["advice_id"]))
    story.add("EP advice requested", advice, MARIA, "ehc")
    story.add(f"{LEE.team} joined the team", join(api, LEE, cid), LEE, "referral")

    # 10. Jo at the family hub offers family support. No consent names the family hub.
    story.add(f"{JO.team} joined the team", join(api, JO, cid), JO, "referral")
    story.add("family support offered", api.call(JO, "POST", "referrals", f"/children/{cid}/family-support", json={
        "summary": "Stay-and-play sessions and a parenting group offered to the family."}), JO, "family_support")

    # 11. Ada withdraws the health-visiting consent; Priya records a narrower one without `slt`.
    withdrawal = api.call(ADA, "POST", "consent", f"/children/{cid}/consents/{story.consents['C1c']}/withdrawal", json={})
    story.add("consent C1c withdrawn", withdrawal, ADA, "consent")
    grant("C1d", PRIYA, {"agencies": ["health_visiting"]}, ["concern", "health", "progress"], ["referral", "coordination"])

    # 12. Priya plans transition to Oak Lane Primary for the September after the 4th birthday.
    september = date(dob.year + 4 + (1 if (dob.month, dob.day) >= (9, 1) else 0), 9, 1)
    story.add("transition to school planned", api.call(PRIYA, "POST", "referrals", f"/children/{cid}/transition", json={
        "school_organisation_id": HALL.organisation_id, "starts_on": september.isoformat(),
        "plan_summary": "Visits in the summer term; SLT programme handed over; staggered start."}), PRIYA, "transition")
    story.add(f"{HALL.team} joined the team", join(api, HALL, cid), HALL, "referral")
    return story


def join(api: Api, person: Person, child_id: UUID) -> dict:
    return api.call(person, "POST", "referrals", f"/children/{child_id}/team", json={
        "organisation_id": person.organisation_id, "agency": str(person.agency), "role": person.role})
