"""Fakes of the API calls the children, consent, referrals and team pages make, put on the
shared fakes (tests/unit/web/fakes.py) as instance methods: `world = install(web)`, then set
`world.child`, `world.entries`, ... or `world.fail[name] = exception`. Every call is recorded
in `world.calls` as (name, args)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

CHILD_ID = "7c9e6679-7425-40de-944b-e07fc1f66afe"
OTHER_ID = "11111111-2222-4333-8444-555555555555"
REFERRAL_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
INVITATION_ID = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
CONSENT_ID = "cccccccc-dddd-4eee-8fff-000000000000"

TEAM = [
    {"organisation_id": "sunflower-nursery", "organisation_name": "Sunflower Nursery", "agency": "setting",
     "role": "setting", "since": "2026-01-05", "joined_through": "registered", "invited_by": None},
    {"organisation_id": "riverside-slt", "organisation_name": "Riverside Speech and Language Therapy",
     "agency": "slt_service", "role": "slt", "since": "2026-01-07", "joined_through": "referral_accepted",
     "invited_by": None},
]

CHILD = {"child_id": CHILD_ID, "setting_organisation_id": "sunflower-nursery",
         "setting_organisation_name": "Sunflower Nursery", "team": TEAM, "details_hidden": False,
         "given_name": "Amara", "family_name": "Okoro", "date_of_birth": "2023-11-02", "age_months": 26,
         "key_person": {"id": "tom-reed", "name": "Tom Reed"}, "buddy": None}

HIDDEN_CHILD = {k: v for k, v in CHILD.items()
                if k not in ("given_name", "family_name", "date_of_birth", "age_months", "key_person", "buddy")}
HIDDEN_CHILD["details_hidden"] = True


def entry(event_id: str, kind: str, category: str, basis: str, data: dict, org: str = "sunflower-nursery",
          who: str = "priya-shah", agency: str = "setting", at: str = "2026-01-07T10:15:00+00:00") -> dict:
    return {"event_id": event_id, "type": f"tac.referrals.{kind}.v1", "category": category, "occurred_at": at,
            "author": {"practitioner_id": who, "organisation_id": org, "agency": agency, "role": "senco"},
            "summary": f"raw summary {kind}", "data": data, "basis": basis}


ENTRIES = [
    entry("e3", "referral_accepted", "referral", "own_request",
          {"referral_id": REFERRAL_ID, "requested_by_organisation_id": "sunflower-nursery"},
          org="riverside-slt", who="sam-okafor", agency="slt_service", at="2026-01-08T09:00:00+00:00"),
    entry("e2", "concern_raised", "concern", "own",
          {"concern_id": "x", "areas_of_need": ["communication_and_interaction"], "summary": "Few words."}),
    entry("e1", "slt_report_shared", "slt", f"consent:{CONSENT_ID}",
          {"assessment_summary": "Expressive delay.", "programme": "Daily books."},
          org="riverside-slt", who="sam-okafor", agency="slt_service", at="2026-01-06T16:30:00+00:00"),
]

CONSENT = {"consent_id": CONSENT_ID, "given_by": {"name": "Ada Okoro", "relationship": "mother"},
           "valid_from": "2026-12-01T10:00:00+00:00", "recorded_at": "2026-12-01T10:00:00+00:00",
           "expires_at": "2027-12-01T10:00:00+00:00"}

REFERRAL = {"referral_id": REFERRAL_ID, "child_id": CHILD_ID, "from_organisation_id": "sunflower-nursery",
            "from_organisation_name": "Sunflower Nursery", "to_organisation_id": "northbridge-inclusion",
            "to_organisation_name": "Northbridge Early Years Inclusion", "to_agency": "area_senco",
            "reason": "Emerging speech delay.", "state": "made", "made_on": "2026-01-07", "days_waiting": 3,
            "hidden": []}

INVITATION = {"invitation_id": INVITATION_ID, "child_id": CHILD_ID, "invited_by_organisation_id": "sunflower-nursery",
              "invited_by": "Sunflower Nursery", "message": "Join us for the review at two?",
              "sent_on": "2026-01-09", "expires_on": "2026-01-23"}


@dataclass
class World:
    child: dict = field(default_factory=lambda: copy.deepcopy(CHILD))
    entries: list = field(default_factory=lambda: copy.deepcopy(ENTRIES))
    consents: list = field(default_factory=lambda: [copy.deepcopy(CONSENT)])
    referral: dict = field(default_factory=lambda: copy.deepcopy(REFERRAL))
    invitations: list = field(default_factory=lambda: [copy.deepcopy(INVITATION)])
    found: list = field(default_factory=list)
    caseload: list = field(default_factory=list)
    fail: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)

    def called(self, name: str) -> list:
        return [args for n, args in self.calls if n == name]


def install(web) -> World:
    world = World()
    apis = web.apis

    def fake(client, name, answer):
        async def method(*args, **kwargs):
            world.calls.append((name, args + ((kwargs,) if kwargs else ())))
            if name in world.fail:
                raise world.fail[name]
            return answer(*args, **kwargs)
        setattr(client, name, method)

    def child(child_id):
        if str(child_id) != str(world.child["child_id"]):
            from services.web.api_clients import NotFound
            raise NotFound("no child")
        return world.child

    fake(apis.referrals, "child", child)
    fake(apis.referrals, "find_children", lambda **kw: {"items": world.found, "total": len(world.found)})
    fake(apis.referrals, "register_child", lambda body: {"child_id": CHILD_ID, "event_id": "e0"})
    fake(apis.referrals, "team", lambda cid: {"child_id": cid, "members": world.child["team"]})
    fake(apis.referrals, "name_key_person", lambda cid, body: {"child_id": cid})
    fake(apis.referrals, "raise_concern", lambda cid, body: {"concern_id": "c", "event_id": "e"})
    fake(apis.referrals, "make_referral", lambda cid, body: {"referral_id": REFERRAL_ID, "event_id": "e"})
    fake(apis.referrals, "referral", lambda rid: world.referral)
    fake(apis.referrals, "accept_referral", lambda rid: {"referral_id": rid, "state": "accepted"})
    fake(apis.referrals, "decline_referral", lambda rid, body: {"referral_id": rid, "state": "declined"})
    fake(apis.referrals, "invite", lambda cid, body: {"invitation_id": INVITATION_ID, "event_id": "e"})
    fake(apis.referrals, "invitations", lambda: {"organisation_id": "x", "items": world.invitations})
    fake(apis.referrals, "accept_invitation", lambda iid: {"invitation_id": iid})
    fake(apis.referrals, "decline_invitation", lambda iid, body: {"invitation_id": iid})
    fake(apis.referrals, "caseload", lambda **kw: {"items": world.caseload, "total": len(world.caseload)})
    fake(apis.timeline, "timeline", lambda cid, **kw: {"child_id": cid, "entries": world.entries})
    fake(apis.consent, "consents", lambda cid: {"child_id": cid, "consents": world.consents})
    fake(apis.consent, "safeguarding_grants", lambda cid: {"grants": []})
    fake(apis.consent, "grant_consent", lambda cid, body: {"consent_id": CONSENT_ID, "expires_at": body["expires_at"]})
    return world
