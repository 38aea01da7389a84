"""The commands' own limits (services.referrals.domain.commands): every free-text field refuses what no
store can hold, and no command can make an event too big for the broker."""

from __future__ import annotations

from datetime import date, datetime, timezone
from uuid import uuid4

import pytest
from pydantic import ValidationError

from schemas.catalogue import make_envelope
from schemas.envelope import Actor
from schemas.events.referrals import SLTReportShared
from schemas.vocabulary import Agency
from services.referrals.domain import commands as c

# A valid body for every command; the test below checks that none is missing.
VALID: dict[type[c.Command], dict] = {
    c.RegisterChild: {"given_name": "Amara", "family_name": "Okoro", "date_of_birth": "2023-04-01"},
    c.RaiseConcern: {"areas_of_need": ["communication_and_interaction"], "summary": "Few words", "evidence": "Observed"},
    c.MakeReferral: {"to_organisation_id": "slt-east", "to_agency": "slt_service", "reason": "Speech"},
    c.DeclineReferral: {"reason": "Refer via GP"},
    c.WithdrawReferral: {"reason": "Moved"},
    c.CloseReferral: {"outcome": "Discharged"},
    c.AddTeamMember: {"organisation_id": "elm-street-hub"},
    c.InviteToTeam: {"organisation_id": "northbridge-hv", "message": "Please join the review"},
    c.DeclineInvitation: {"reason": "Not our area"},
    c.RemoveTeamMember: {"reason": "No longer involved"},
    c.NameKeyPerson: {"key_person_id": "tom-reed", "key_person_name": "Tom Reed", "buddy_id": "priya-shah",
                      "buddy_name": "Priya Shah"},
    c.LeaveTeam: {"reason": "Work done"},
    c.ShareSLTReport: {"assessment_summary": "Delay", "programme": "Word play", "recommendations": ["Makaton"]},
    c.ShareEPAdvice: {"summary": "Visual timetable", "recommendations": ["Now and next board"]},
    c.ScheduleIntegratedReview: {"scheduled_for": "2025-07-01", "with_organisation_id": "acorns", "with_agency": "setting"},
    c.CompleteIntegratedReview: {"completed_on": "2025-07-01", "outcomes": {"physical_development": "expected"}},
    c.RequestEHCAssessment: {"la_organisation_id": "la-sen"},
    c.StartEHCAssessment: {},
    c.DeclineEHCAssessment: {"reason": "Needs met"},
    c.RequestEHCAdvice: {"from_organisation_id": "ep-city", "from_agency": "ep_service"},
    c.SubmitEHCAdvice: {"summary": "Needs 1:1"},
    c.IssueDraftPlan: {},
    c.FinalisePlan: {},
    c.PlanTransition: {"school_organisation_id": "oak", "starts_on": "2027-09-01", "plan_summary": "Visits"},
    c.CompleteTransition: {},
    c.OfferFamilySupport: {"summary": "Stay and play"},
    c.ShareParentObservation: {"text": "She says 'bir' for bird", "seen_on": "2025-06-01"},
    c.GiveEHCParentViews: {"parent_views": "We want her understood", "child_views": "Likes the sand tray"},
}

TEXT_FIELDS = [(cmd, name) for cmd, body in VALID.items() for name, value in body.items()
               if isinstance(value, str) and not name.endswith(("organisation_id", "_on", "_for", "agency"))
               and name != "date_of_birth"]


def test_every_command_has_a_valid_example_here():
    assert set(VALID) == set(c.Command.__subclasses__())
    for cmd, body in VALID.items():
        cmd.model_validate(body)


@pytest.mark.parametrize(("cmd", "field"), TEXT_FIELDS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("bad", ["nul \x00 inside", "bell \x07", "lone \ud800 surrogate"])
def test_a_control_character_or_invalid_code_point_in_any_free_text_is_refused_naming_the_field(cmd, field, bad):
    with pytest.raises(ValidationError) as refused:
        cmd.model_validate({**VALID[cmd], field: bad})
    assert [e["loc"][0] for e in refused.value.errors()] == [field]


def test_the_free_text_fields_found_are_the_ones_expected():
    # If a command gains a free-text field, it must be in VALID (and so in the test above).
    assert {f"{cmd.__name__}.{field}" for cmd, field in TEXT_FIELDS} >= {
        "RegisterChild.given_name", "RegisterChild.family_name", "RaiseConcern.summary", "RaiseConcern.evidence",
        "MakeReferral.reason", "CloseReferral.outcome", "LeaveTeam.reason", "InviteToTeam.message",
        "DeclineInvitation.reason", "RemoveTeamMember.reason", "NameKeyPerson.key_person_name", "NameKeyPerson.buddy_name",
        "ShareSLTReport.assessment_summary", "ShareSLTReport.programme", "PlanTransition.plan_summary",
        "SubmitEHCAdvice.summary", "OfferFamilySupport.summary", "DeclineEHCAssessment.reason",
        "ShareParentObservation.text", "GiveEHCParentViews.parent_views", "GiveEHCParentViews.child_views"}


@pytest.mark.parametrize(("cmd", "field"), [(c.ShareParentObservation, "text"), (c.GiveEHCParentViews, "parent_views"),
                                            (c.GiveEHCParentViews, "child_views")], ids=str)
def test_a_parents_entry_is_between_1_and_4000_characters_naming_the_field(cmd, field):
    cmd.model_validate({**VALID[cmd], field: "x" * 4000})
    for bad in ("", "   ", "x" * 4001):
        with pytest.raises(ValidationError) as refused:
            cmd.model_validate({**VALID[cmd], field: bad})
        assert [e["loc"][0] for e in refused.value.errors()] == [field]


def test_a_parents_entry_needs_only_its_words():
    assert c.ShareParentObservation.model_validate({"text": "Sings at bath time"}).seen_on is None
    assert c.GiveEHCParentViews.model_validate({"parent_views": "We want her understood"}).child_views is None
    with pytest.raises(ValidationError):
        c.ShareParentObservation.model_validate({"text": "x", "author": "someone else"})


@pytest.mark.parametrize("cmd", [c.ShareSLTReport, c.ShareEPAdvice])
def test_recommendations_are_checked_item_by_item(cmd):
    for bad in (["x" * (c.MAX_ITEM_CHARS + 1)], ["fine", "\x00"], [""], ["ok"] * (c.MAX_ITEMS + 1)):
        with pytest.raises(ValidationError) as refused:
            cmd.model_validate({**VALID[cmd], "recommendations": bad})
        assert refused.value.errors()[0]["loc"][0] == "recommendations"
    cmd.model_validate({**VALID[cmd], "recommendations": ["x" * c.MAX_ITEM_CHARS] * c.MAX_ITEMS})


def test_the_largest_slt_report_makes_an_event_far_below_the_brokers_message_limit():
    widest = "\U0001F600"  # 4 bytes in UTF-8
    cmd = c.ShareSLTReport(assessment_summary=widest * 4000, programme=widest * 4000,
                           recommendations=[widest * c.MAX_ITEM_CHARS] * c.MAX_ITEMS)
    envelope = make_envelope(
        SLTReportShared(report_id=uuid4(), assessment_summary=cmd.assessment_summary, programme=cmd.programme,
                        recommendations=tuple(cmd.recommendations)),
        subject=uuid4(), actor=Actor(practitioner_id="slt-eve", organisation_id="slt-east", agency=Agency.SLT_SERVICE,
                                     role="slt"),
        source="/tac/referrals", time=datetime(2025, 6, 2, tzinfo=timezone.utc))
    assert len(envelope.to_json_bytes()) < 512 * 1024


def test_a_review_partner_is_named_with_what_it_is():
    cmd = c.ScheduleIntegratedReview.model_validate(VALID[c.ScheduleIntegratedReview])
    assert cmd.with_agency is Agency.SETTING and cmd.scheduled_for == date(2025, 7, 1)
    with pytest.raises(ValidationError):
        c.ScheduleIntegratedReview.model_validate({**VALID[c.ScheduleIntegratedReview], "with_agency": "wizard"})
