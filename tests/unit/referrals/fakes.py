"""Whole fakes of the referrals service's adapters, for unit tests of its handlers: an in-memory
store with the interface of adapters.store.SqlStore (every name the *_store modules export),
an outbox and a copy of the decision's state, committed only when the unit of work ends
without an error — as a database transaction would be."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, Event
from schemas.events.consent import ConsentGiver, ConsentGranted, Recipients
from schemas.vocabulary import Agency, Category, Purpose
from services.common.auth import Principal
from services.common.directory import Directory
from consent_policy.state import FOLDED_TYPES, ConsentState
from services.referrals.adapters import tables
from services.referrals.adapters.referrals_store import MOVABLE
from services.referrals.domain.rules import ChildRecord, ReferralRecord
from services.referrals.domain.state_machine import OPEN_EHC_STATES, OPEN_REFERRAL_STATES, ReviewState
from services.referrals.service_layer.unit_of_work import SOURCE, Deps

DIRECTORY = Path(__file__).resolve().parents[2] / "integration" / "referrals" / "organisations.yaml"
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)

# The people of DESIGN §1, each acting for one organisation of the test directory.
PEOPLE = {
    "setting": ("senco-amy", "sunflowers-nursery", Agency.SETTING, "senco"),
    "other_setting": ("senco-bob", "acorns-preschool", Agency.SETTING, "senco"),
    "area_senco": ("asenco-cat", "la-inclusion-north", Agency.AREA_SENCO, "area_senco"),
    "slt": ("slt-eve", "nhs-slt-east", Agency.SLT_SERVICE, "slt"),
    "ep": ("ep-fay", "ep-service-city", Agency.EP_SERVICE, "educational_psychologist"),
    "hv": ("hv-gus", "hv-team-west", Agency.HEALTH_VISITING, "health_visitor"),
    "family": ("fw-hal", "family-hub-central", Agency.CHILDRENS_CENTRE, "family_worker"),
    "la": ("case-ivy", "la-sen-team", Agency.LA_SEN_TEAM, "sen_caseworker"),
    "school": ("teacher-jo", "oak-primary", Agency.SCHOOL, "reception_teacher"),
}


def person(who: str) -> Principal:
    practitioner, organisation, agency, role = PEOPLE[who]
    return Principal(practitioner_id=practitioner, organisation_id=organisation, agency=agency, role=role)


def parent_of(*children: UUID) -> Principal:
    return Principal(practitioner_id="parent-kim", agency=Agency.PARENT, role="parent", children=frozenset(children))


def _key(value) -> str | None:
    return None if value is None else str(value)


_ID_COLUMNS = {"child_id", "concern_id", "referral_id", "consent_id", "invitation_id", "review_id", "request_id",
               "advice_id", "views_id", "event_id"}


class FakeStore:
    """Rows as the tables hold them (ids as strings, every column present), by table and key."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple, dict]] = {name: {} for name in tables.metadata.tables}
        self.now: datetime = NOW  # the instant of the unit of work under way
        self.outbox: list[EnvelopeBase] = []
        self.consent_events: list[EnvelopeBase] = []

    # --- generic rows -------------------------------------------------------------------------

    def _insert(self, table: str, **values) -> dict:
        columns = tables.metadata.tables[table].columns
        row = {c.name: None for c in columns}
        row.update({k: (_key(v) if k in _ID_COLUMNS else v) for k, v in values.items()})
        key = tuple(row[c.name] for c in columns if c.primary_key)
        if key in self.rows[table]:
            raise KeyError(f"duplicate key {key} in {table}")
        self.rows[table][key] = row
        return row

    def _get(self, table: str, *key) -> dict | None:
        return self.rows[table].get(tuple(_key(k) for k in key))

    def _all(self, table: str) -> list[dict]:
        return list(self.rows[table].values())

    def emit(self, actor: Actor, child_id: UUID, payload: Event, *, event_id: UUID | None = None) -> UUID:
        """Into the outbox, and into the copy of the decision's state what it folds, as the
        unit of work's `on_emit` does."""
        envelope = make_envelope(payload, subject=child_id, actor=actor, source=SOURCE, event_id=event_id, time=self.now)
        self.outbox.append(envelope)
        self.store_consent_event(envelope)
        return envelope.id

    def flush(self) -> None:
        pass

    # --- children -------------------------------------------------------------------------------

    def add_child(self, *, child_id, given_name, family_name, date_of_birth, setting_organisation_id, now) -> None:
        self._insert("children", child_id=child_id, given_name=given_name, family_name=family_name,
                     date_of_birth=date_of_birth, setting_organisation_id=setting_organisation_id, registered_at=now)

    def get_child_row(self, child_id):
        return self._get("children", child_id)

    def get_child(self, child_id) -> ChildRecord | None:
        row = self.get_child_row(child_id)
        return None if row is None else ChildRecord(UUID(row["child_id"]), row["setting_organisation_id"],
                                                    row["date_of_birth"])

    def add_concern(self, **values) -> None:
        self._insert("concerns", **values)

    def children_of_team(self, organisation_id, now) -> list:
        rows = [r for r in self._all("children") if r["setting_organisation_id"] == organisation_id
                or self.consent_state_for(r["child_id"]).is_team_member(UUID(r["child_id"]), organisation_id, now)]
        return sorted(rows, key=lambda r: (r["family_name"], r["given_name"], r["child_id"]))

    def children_by_id(self, child_ids) -> list:
        rows = [self._get("children", c) for c in child_ids]
        return sorted((r for r in rows if r), key=lambda r: (r["family_name"], r["given_name"], r["child_id"]))

    def name_key_person(self, child_id, **values) -> None:
        self._get("children", child_id).update(values)

    def children_owing_notice(self, notice, *, born_on_or_before, born_after, limit) -> list:
        done = {k[0] for k in self.rows["child_notices"] if k[1] == notice}
        rows = sorted((r for r in self._all("children") if born_after < r["date_of_birth"] <= born_on_or_before
                       and r["child_id"] not in done), key=lambda r: (r["date_of_birth"], r["child_id"]))
        return [(UUID(r["child_id"]), r["setting_organisation_id"]) for r in rows[:limit]]

    def record_notice(self, *, child_id, notice, event_id, now) -> None:
        self._insert("child_notices", child_id=child_id, notice=notice, event_id=event_id, emitted_at=now)

    # --- referrals ------------------------------------------------------------------------------

    def add_referral(self, **values) -> None:
        self._insert("referrals", **values)

    def get_referral_row(self, referral_id):
        return self._get("referrals", referral_id)

    def get_referral(self, referral_id) -> ReferralRecord | None:
        r = self.get_referral_row(referral_id)
        return None if r is None else ReferralRecord(UUID(r["referral_id"]), UUID(r["child_id"]), r["from_organisation_id"],
                                                     r["to_organisation_id"], r["to_agency"], r["state"])

    def children_awaiting_answer(self, organisation_id, agency) -> set[str]:
        return {r["child_id"] for r in self._all("referrals") if r["to_organisation_id"] == organisation_id
                and r["to_agency"] == agency and r["state"] == "made"}

    def move(self, table_name, key_value, *, expected_state, **values) -> bool:
        assert table_name in MOVABLE
        row = self._get(table_name, key_value)
        if row is None or row["state"] != expected_state:
            return False
        row.update(values)
        return True

    # --- team and invitations -------------------------------------------------------------------

    def team_member(self, child_id, organisation_id):
        return self._get("team_members", child_id, organisation_id)

    def join_team(self, *, child_id, organisation_id, agency, role, now, joined_through,
                  invited_by_organisation_id=None) -> None:
        self.rows["team_members"].pop((_key(child_id), organisation_id), None)
        self._insert("team_members", child_id=child_id, organisation_id=organisation_id, agency=agency, role=role,
                     joined_at=now, joined_through=joined_through, invited_by_organisation_id=invited_by_organisation_id)

    def leave_team(self, *, child_id, organisation_id, now, ended_by) -> None:
        self.team_member(child_id, organisation_id).update(left_at=now, ended_by=ended_by)

    def current_team(self, child_id, state: ConsentState, now) -> list:
        members = state.team_members(child_id, now)
        rows = [r for r in self._all("team_members") if r["child_id"] == _key(child_id) and r["left_at"] is None]
        return sorted((r for r in rows if r["organisation_id"] in members),
                      key=lambda r: (r["joined_at"], r["organisation_id"]))

    def add_invitation(self, **values) -> None:
        self._insert("invitations", **values)

    def get_invitation(self, invitation_id):
        return self._get("invitations", invitation_id)

    def _pending(self, today) -> list[dict]:
        return [r for r in self._all("invitations") if r["state"] == "pending" and r["expires_on"] > today]

    def pending_invitation(self, child_id, organisation_id, today):
        return next((r for r in self._pending(today) if r["child_id"] == _key(child_id)
                     and r["organisation_id"] == organisation_id), None)

    def pending_invitations_for(self, organisation_id, agency, today) -> list:
        return sorted((r for r in self._pending(today) if r["organisation_id"] == organisation_id and r["agency"] == agency),
                      key=lambda r: (r["sent_on"], r["invitation_id"]))

    def withdraw_invitations(self, child_id, organisation_id, *, now, reason) -> int:
        rows = [r for r in self._all("invitations") if r["child_id"] == _key(child_id) and r["state"] == "pending"
                and organisation_id in (r["invited_by_organisation_id"], r["organisation_id"])]
        for r in rows:
            r.update(state="withdrawn", answered_at=now, reason=reason)
        return len(rows)

    def answer_invitation(self, invitation_id, *, state, now, reason) -> bool:
        row = self.get_invitation(invitation_id)
        if row is None or row["state"] != "pending":
            return False
        row.update(state=state, answered_at=now, reason=reason)
        return True

    def involved_organisations(self, child_id, now) -> frozenset[str]:
        return self.consent_state_for(child_id).team_members(child_id, now)

    # --- casework -------------------------------------------------------------------------------

    def get_review(self, review_id):
        return self._get("integrated_reviews", review_id)

    def add_review(self, **values) -> None:
        self._insert("integrated_reviews", **values)

    def review_state_for_children(self, child_ids) -> dict:
        out = {}
        for c in child_ids:
            rows = [r for r in self._all("integrated_reviews") if r["child_id"] == c]
            if rows:
                out[c] = (max((r["completed_on"] for r in rows if r["completed_on"]), default=None),
                          max(r["scheduled_for"] for r in rows))
        return out

    def get_ehc(self, request_id):
        return self._get("ehc_requests", request_id)

    def open_ehc_for_child(self, child_id, open_states):
        return next((r for r in self._all("ehc_requests") if r["child_id"] == _key(child_id) and r["state"] in open_states),
                    None)

    def add_ehc(self, **values) -> None:
        self._insert("ehc_requests", **values)

    def get_advice(self, advice_id):
        return self._get("ehc_advice", advice_id)

    def add_advice(self, **values) -> None:
        self._insert("ehc_advice", **values)

    def mark_advice_submitted(self, advice_id, submitted_on) -> bool:
        row = self.get_advice(advice_id)
        if row is None or row["submitted_on"] is not None:
            return False
        row["submitted_on"] = submitted_on
        return True

    def advice_for(self, request_id) -> list:
        return [r for r in self._all("ehc_advice") if r["request_id"] == _key(request_id)]

    def add_parent_views(self, **values) -> None:
        self._insert("ehc_parent_views", **values)

    def parent_views_for(self, request_id) -> list:
        return sorted((r for r in self._all("ehc_parent_views") if r["request_id"] == _key(request_id)),
                      key=lambda r: (r["given_at"], r["views_id"]))

    def get_transition(self, child_id):
        return self._get("transitions", child_id)

    def plan_transition(self, *, child_id, school_organisation_id, starts_on) -> None:
        self.rows["transitions"].pop((_key(child_id),), None)
        self._insert("transitions", child_id=child_id, school_organisation_id=school_organisation_id,
                     starts_on=starts_on, state="planned")

    # --- the decision's state -------------------------------------------------------------------

    def store_consent_event(self, envelope: EnvelopeBase) -> None:
        if envelope.type in FOLDED_TYPES:
            self.consent_events.append(envelope)

    def consent_state_for(self, child_id) -> ConsentState:
        return ConsentState.from_events(e for e in self.consent_events if str(e.subject) == _key(child_id))

    def consent_state_for_children(self, child_ids) -> dict[str, ConsentState]:
        return {c: self.consent_state_for(c) for c in child_ids}

    def review_list_candidates(self, *, born_on_or_before, born_after, organisation_id, agency) -> list:
        named = {str(e.subject) for e in self.consent_events
                 if f'"{organisation_id}"' in e.to_json_bytes().decode() or f'"{agency}"' in e.to_json_bytes().decode()}
        return sorted((r for r in self._all("children") if born_after < r["date_of_birth"] <= born_on_or_before
                       and r["child_id"] in named), key=lambda r: (r["date_of_birth"], r["child_id"]))

    # --- caseloads ------------------------------------------------------------------------------

    def _with_names(self, row: dict) -> dict:
        child = self._get("children", row["child_id"])
        return {**row, "given_name": child["given_name"], "family_name": child["family_name"]}

    def open_referrals_to(self, organisation_id, agency) -> list:
        return [self._with_names(r) for r in self._all("referrals") if r["to_organisation_id"] == organisation_id
                and r["to_agency"] == agency and r["state"] in OPEN_REFERRAL_STATES]

    def open_advice_asked_of(self, organisation_id, agency) -> list:
        return [self._with_names({**a, "la_organisation_id": e["la_organisation_id"]}) for a in self._all("ehc_advice")
                if a["from_organisation_id"] == organisation_id and a["from_agency"] == agency and a["submitted_on"] is None
                and (e := self._get("ehc_requests", a["request_id"]))["state"] in OPEN_EHC_STATES]

    def open_assessments_of(self, la_organisation_id) -> list:
        return [self._with_names(e) for e in self._all("ehc_requests")
                if e["la_organisation_id"] == la_organisation_id and e["state"] in OPEN_EHC_STATES]

    def scheduled_reviews_of(self, organisation_id, agency) -> list:
        return [self._with_names(r) for r in self._all("integrated_reviews") if r["state"] == ReviewState.SCHEDULED
                and (r["scheduled_by_organisation_id"] == organisation_id
                     or (r["with_organisation_id"] == organisation_id and r["with_agency"] in (None, agency)))]


@dataclass
class FakeDeps(Deps):
    """Deps whose store is one FakeStore: a unit of work commits its changes when it ends without
    an error and leaves no trace when it fails."""

    sessions: object = None
    clock: object = lambda: NOW
    directory: Directory = field(default_factory=lambda: Directory.load(DIRECTORY))
    store: FakeStore = field(default_factory=FakeStore)
    commits: int = 0

    @contextmanager
    def transaction(self) -> Iterator[FakeStore]:
        before = copy.deepcopy(self.store.__dict__)
        self.store.now = self.now()
        try:
            yield self.store
        except BaseException:
            self.store.__dict__ = before
            raise
        self.commits += 1

    @contextmanager
    def reading(self) -> Iterator[FakeStore]:
        yield self.store

    # --- what tests arrange and look at -----------------------------------------------------------

    def grant_consent(self, child_id: UUID, *, organisations: Iterable[str] = (), agencies: Iterable[Agency] = (),
                      categories: Iterable[Category] = (Category.REFERRAL,)) -> UUID:
        """A ConsentGranted in the store's copy of the decision's state, as the consumer keeps it."""
        consent_id = uuid4()
        start = self.now() - timedelta(days=1)
        actor = Actor(practitioner_id="consent-officer", organisation_id="sunflowers-nursery", agency=Agency.SETTING,
                      role="senco")
        self.store.store_consent_event(make_envelope(ConsentGranted(
            consent_id=consent_id,
            given_by=ConsentGiver(person_id="parent-kim", relationship="mother", has_parental_responsibility=True),
            recorded_on_behalf=True, recipients=Recipients(organisation_ids=tuple(organisations), agencies=tuple(agencies)),
            categories=tuple(categories), purposes=(Purpose.REFERRAL,), valid_from=start,
            expires_at=start + timedelta(days=365)), subject=child_id, actor=actor, source="/tac/consent"))
        return consent_id

    def events(self, child_id: UUID | None = None) -> list[str]:
        """The short names of the events queued in the outbox (e.g. "referral_made"), in order."""
        return [e.type.split(".")[2] for e in self.store.outbox if child_id is None or e.subject == child_id]


def born(years: int, months: int = 0, *, on: date = NOW.date()) -> date:
    return on.replace(year=on.year - years) - timedelta(days=31 * months)
