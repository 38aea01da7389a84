"""How the event contracts behave: immutable, strict, readable when they refuse something."""

from __future__ import annotations

import json
import re
import types
import typing
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from schemas.catalogue import ENVELOPE_CLASSES, EVENT_TYPES, InvalidEvent, make_envelope, parse_event
from schemas.deadletter import DeadLetterRecord, DeadLetterReplayed
from schemas.envelope import Actor
from schemas.events import consent, referrals
from schemas.vocabulary import Agency, Category, Purpose
from tests.unit.schemas.contract_examples import CHILD, D0, EXAMPLES, T0, U



def _envelope_dict(event_type: str, practitioner: Actor) -> dict[str, Any]:
    envelope = make_envelope(EXAMPLES[event_type], subject=CHILD, actor=practitioner, source="/tac/test")
    return json.loads(envelope.to_json_bytes())


def test_there_is_an_example_for_every_event_type():
    assert set(EXAMPLES) == set(EVENT_TYPES)


# --- frozen and strict -------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_events_are_frozen(event_type):
    event = EXAMPLES[event_type]
    field = next(iter(type(event).model_fields))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(event, field, getattr(event, field))


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_events_forbid_extra_fields(event_type):
    event = EXAMPLES[event_type]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        type(event).model_validate({**event.model_dump(), "child_name": "should never travel"})


def test_envelopes_are_frozen_and_forbid_extra_fields(practitioner):
    raw = _envelope_dict("tac.referrals.referral_accepted.v1", practitioner)
    envelope = parse_event(json.dumps(raw))
    with pytest.raises(ValidationError, match="frozen"):
        envelope.subject = U[0]  # type: ignore[misc]
    with pytest.raises(InvalidEvent, match="Extra inputs are not permitted"):
        parse_event(json.dumps({**raw, "surname": "Smith"}))
    with pytest.raises(InvalidEvent, match=r"data\.extra.*Extra inputs are not permitted"):
        parse_event(json.dumps({**raw, "data": {**raw["data"], "extra": 1}}))


def test_the_dead_letter_record_is_frozen_and_forbids_extra_fields():
    record = DeadLetterRecord.for_message(
        reason="r", source_topic="tac.referrals.v1", partition=0, offset=1, consumer="c",
        key=b"k", value=b"v", failed_at=T0,
    )
    with pytest.raises(ValidationError, match="frozen"):
        record.offset = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DeadLetterRecord.model_validate({**record.model_dump(), "surname": "Smith"})


# --- parse_event ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_an_envelope_survives_the_round_trip_make_bytes_parse(event_type, practitioner):
    envelope = make_envelope(
        EXAMPLES[event_type], subject=CHILD, actor=practitioner, source="/tac/test",
        correlationid="corr-1", causationid="cause-1",
    )
    parsed = parse_event(envelope.to_json_bytes())
    assert parsed == envelope
    assert type(parsed) is ENVELOPE_CLASSES[event_type]
    assert parsed.key == str(CHILD).encode()


def test_parse_event_says_when_the_json_is_malformed():
    with pytest.raises(InvalidEvent) as caught:
        parse_event(b'{"type": "tac.consent.consent_granted.v1",')
    assert caught.value.reason.startswith("malformed JSON")


def test_parse_event_says_when_the_type_is_unknown(practitioner):
    raw = _envelope_dict("tac.referrals.referral_accepted.v1", practitioner)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps({**raw, "type": "tac.referrals.referral_teleported.v1"}))
    assert caught.value.reason == "unknown event type 'tac.referrals.referral_teleported.v1'"


def test_parse_event_says_when_there_is_no_type(practitioner):
    raw = _envelope_dict("tac.referrals.referral_accepted.v1", practitioner)
    del raw["type"]
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps(raw))
    assert "no 'type'" in caught.value.reason


def test_parse_event_says_which_field_violates_the_schema(practitioner):
    raw = _envelope_dict("tac.consent.consent_granted.v1", practitioner)
    raw["data"]["purposes"] = []
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps(raw))
    assert caught.value.reason.startswith("event violates its schema")
    assert "data.purposes" in caught.value.reason


def test_parse_event_says_when_the_category_does_not_belong_to_the_type(practitioner):
    raw = _envelope_dict("tac.consent.consent_granted.v1", practitioner)
    raw["category"] = str(Category.EHC)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps(raw))
    assert "category" in caught.value.reason
    assert "'consent'" in caught.value.reason


def test_parse_event_rejects_a_payload_that_breaks_a_rule_of_its_contract(practitioner):
    raw = _envelope_dict("tac.referrals.ehc_draft_plan_issued.v1", practitioner)
    raw["data"]["comments_due_on"] = raw["data"]["issued_on"]
    with pytest.raises(InvalidEvent, match="15 days"):
        parse_event(json.dumps(raw))


def test_invalid_event_is_a_value_error_carrying_its_reason():
    with pytest.raises(ValueError) as caught:
        parse_event(b"[]")
    assert isinstance(caught.value, InvalidEvent)
    assert caught.value.reason == str(caught.value)


# --- the actor -----------------------------------------------------------------------------------


def test_a_parent_actor_with_an_organisation_is_rejected():
    with pytest.raises(ValidationError, match="a parent acts for no organisation"):
        Actor(practitioner_id="person-1", organisation_id="org-1", agency=Agency.PARENT, role="parent")


def test_a_parent_actor_without_an_organisation_is_accepted():
    assert Actor(practitioner_id="person-1", agency=Agency.PARENT, role="parent").organisation_id is None


def test_a_practitioner_without_an_organisation_is_rejected():
    with pytest.raises(ValidationError, match="organisation_id is required"):
        Actor(practitioner_id="practitioner-1", agency=Agency.SETTING, role="senco")


# --- consent --------------------------------------------------------------------------------------


def _consent_granted(**overrides: Any) -> consent.ConsentGranted:
    fields = {**EXAMPLES["tac.consent.consent_granted.v1"].model_dump(), **overrides}
    return consent.ConsentGranted.model_validate(fields)


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(seconds=-1)], ids=["equal", "before"])
def test_consent_granted_that_expires_at_or_before_it_starts_is_rejected(delta):
    with pytest.raises(ValidationError, match="expires_at must be after valid_from"):
        _consent_granted(valid_from=T0, expires_at=T0 + delta)


def test_consent_recipients_that_name_nobody_are_rejected():
    with pytest.raises(ValidationError, match="at least one recipient"):
        consent.Recipients()
    with pytest.raises(ValidationError, match="at least one recipient"):
        _consent_granted(recipients={"organisation_ids": [], "agencies": []})


def test_the_parent_is_not_a_consent_recipient_agency():
    with pytest.raises(ValidationError, match="'parent' is not a recipient agency"):
        consent.Recipients(agencies=(Agency.PARENT,))


def test_consent_must_come_from_someone_with_parental_responsibility():
    with pytest.raises(ValidationError, match="parental responsibility"):
        consent.ConsentGiver(person_id="person-2", relationship="grandparent", has_parental_responsibility=False)


def test_consent_granted_needs_at_least_one_category_and_purpose():
    with pytest.raises(ValidationError):
        _consent_granted(categories=())
    with pytest.raises(ValidationError):
        _consent_granted(purposes=())
    assert _consent_granted(categories=(Category.SLT,), purposes=(Purpose.ASSESSMENT,)).categories == (Category.SLT,)


def _safeguarding(hours: float) -> consent.SafeguardingAccessGranted:
    return consent.SafeguardingAccessGranted(
        grant_id=U[0], organisation_id="org-hv-1", justification="Child at risk of significant harm; DSL informed.",
        granted_at=T0, expires_at=T0 + timedelta(hours=hours),
    )


def test_safeguarding_access_granted_for_up_to_72_hours_is_accepted():
    assert _safeguarding(72).expires_at == T0 + timedelta(hours=72)


@pytest.mark.parametrize("hours", [72 + 1 / 3600, 73, 24 * 7], ids=["72h+1s", "73h", "a week"])
def test_safeguarding_access_granted_over_72_hours_is_rejected(hours):
    with pytest.raises(ValidationError, match="at most 72 hours"):
        _safeguarding(hours)


def test_safeguarding_access_that_ends_before_it_starts_is_rejected():
    with pytest.raises(ValidationError, match="at most 72 hours"):
        _safeguarding(0)


def test_safeguarding_access_needs_a_real_justification():
    with pytest.raises(ValidationError, match="at least 20 characters"):
        consent.SafeguardingAccessGranted(
            grant_id=U[0], organisation_id="org-hv-1", justification="because",
            granted_at=T0, expires_at=T0 + timedelta(hours=1),
        )


# --- EHC ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, 1, 14])
def test_ehc_draft_plan_issued_with_fewer_than_15_days_to_comment_is_rejected(days):
    with pytest.raises(ValidationError, match="at least 15 days"):
        referrals.EHCDraftPlanIssued(request_id=U[0], issued_on=D0, comments_due_on=D0 + timedelta(days=days))


def test_ehc_draft_plan_issued_with_15_days_to_comment_is_accepted():
    plan = referrals.EHCDraftPlanIssued(request_id=U[0], issued_on=D0, comments_due_on=D0 + timedelta(days=15))
    assert (plan.comments_due_on - plan.issued_on).days == 15


# --- personal details never travel on the bus ------------------------------------------------------------

PERSONAL_DETAIL = re.compile(
    r"(^|_)(name|names|first_?name|given_?name|forename|surname|last_?name|full_?name|"
    r"date_of_birth|dob|birth_?date|birthday|address|postcode|post_code|zip)($|_)"
)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _field_paths(model: type[BaseModel], prefix: str = "", seen: frozenset[type] = frozenset()) -> list[str]:
    """Every field of `model` and of the models it contains, as dotted paths."""
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        for inner in _models_in(field.annotation):
            if inner not in seen:
                paths += _field_paths(inner, f"{path}.", seen | {model})
    return paths


def _all_contract_models() -> list[type[BaseModel]]:
    return [*ENVELOPE_CLASSES.values(), DeadLetterRecord, DeadLetterReplayed]


def test_the_field_walk_reaches_nested_models():
    paths = _field_paths(ENVELOPE_CLASSES["tac.consent.consent_granted.v1"])
    assert {"actorpractitionerid", "data.given_by.person_id", "data.recipients.agencies"} <= set(paths)
    assert _models_in(typing.Optional[tuple[consent.Recipients, ...]]) == [consent.Recipients]
    assert _models_in(types.UnionType) == []


@pytest.mark.parametrize("model", _all_contract_models(), ids=lambda m: m.__name__)
def test_no_name_address_or_date_of_birth_field_travels_on_the_bus(model):
    leaking = [p for p in _field_paths(model) if PERSONAL_DETAIL.search(p.rsplit(".", 1)[-1].lower())]
    assert not leaking, f"{model.__name__} carries personal details: {leaking}"


def test_the_personal_detail_check_would_catch_a_name_or_a_date_of_birth():
    for bad in ("name", "child_name", "first_name", "surname", "date_of_birth", "dob", "address", "home_address", "postcode"):
        assert PERSONAL_DETAIL.search(bad), bad
    for fine in ("organisation_id", "role", "reason", "summary", "relationship", "recipient_id", "about"):
        assert not PERSONAL_DETAIL.search(fine), fine
