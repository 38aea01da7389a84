"""An in-memory unit of work for the consent service's handlers: the store, the copy of each
child's setting and team, and the outbox as plain Python, with the transaction semantics the
handlers rely on (everything a unit of work did is dropped when it raises)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from uuid import UUID

from consent_policy.state import ConsentState
from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, Event
from services.consent import domain
from services.consent.domain import Consent, Notice, SafeguardingAccess, StoredConsent
from services.consent.service_layer.unit_of_work import Deps


@dataclass
class Tables:
    """What the SQL store keeps, as dictionaries."""

    processed: set[UUID] = field(default_factory=set)
    state_events: dict[UUID, EnvelopeBase] = field(default_factory=dict)
    settings: dict[UUID, str] = field(default_factory=dict)
    consents: dict[UUID, StoredConsent] = field(default_factory=dict)
    notices: dict[tuple[UUID, Notice], UUID] = field(default_factory=dict)
    grants: dict[UUID, tuple[SafeguardingAccess, str]] = field(default_factory=dict)
    outbox: list[EnvelopeBase] = field(default_factory=list)


class FakeUnitOfWork:
    def __init__(self, deps: Deps, tables: Tables) -> None:
        self.deps = deps
        self.tables = tables
        self.now = deps.now()

    def claim(self, event_id: UUID) -> bool:
        if event_id in self.tables.processed:
            return False
        self.tables.processed.add(event_id)
        return True

    def keep_state_event(self, envelope: EnvelopeBase) -> None:
        self.tables.state_events.setdefault(envelope.id, envelope)

    def record_child_setting(self, child_id: UUID, setting_organisation_id: str, event_id: UUID) -> None:
        self.tables.settings[child_id] = setting_organisation_id

    def relationship(self, child_id: UUID) -> domain.Relationship:
        setting = self.tables.settings.get(child_id)
        if setting is None:
            return domain.UNKNOWN
        state = ConsentState.from_events(e for e in self.tables.state_events.values() if e.subject == child_id)
        return domain.Relationship(setting, state.team_members(child_id, self.now))

    def add_consent(self, consent: Consent, granted_event_id: UUID) -> None:
        self.tables.consents[consent.consent_id] = StoredConsent(consent, str(granted_event_id), None, {})

    def record_withdrawal(self, consent: Consent, event_id: UUID) -> bool:
        stored = self.tables.consents[consent.consent_id]
        if stored.consent.withdrawal is not None:
            return False
        self.tables.consents[consent.consent_id] = StoredConsent(
            consent, stored.granted_event_id, str(event_id), stored.notice_event_ids)
        return True

    def get_consent(self, consent_id: UUID) -> StoredConsent | None:
        return self._with_notices(self.tables.consents.get(consent_id))

    def consents_of_child(self, child_id: UUID) -> list[StoredConsent]:
        found = [s for s in self.tables.consents.values() if s.consent.child_id == child_id]
        found.sort(key=lambda s: (s.consent.recorded_at, str(s.consent.consent_id)))
        return [self._with_notices(s) for s in found]

    def consents_needing_notice(self, limit: int) -> list[Consent]:
        due = [self._with_notices(s).consent for s in self.tables.consents.values()]
        return [c for c in due if c.due_notices(self.now)][:limit]

    def record_notice(self, consent_id: UUID, notice: Notice, event_id: UUID) -> None:
        if (consent_id, notice) in self.tables.notices:
            raise domain.NoticeAlreadyEmitted(f"{notice.value} of consent {consent_id}")
        self.tables.notices[(consent_id, notice)] = event_id

    def add_safeguarding_access(self, access: SafeguardingAccess, event_id: UUID) -> None:
        self.tables.grants[access.grant_id] = (access, str(event_id))

    def safeguarding_access_of(self, child_id: UUID,
                               organisation_id: str | None) -> list[tuple[SafeguardingAccess, str]]:
        return sorted(((a, e) for a, e in self.tables.grants.values() if a.child_id == child_id
                       and organisation_id in (None, a.organisation_id)),
                      key=lambda found: (found[0].granted_at, str(found[0].grant_id)))

    def emit(self, actor: Actor, child_id: UUID, payload: Event) -> UUID:
        envelope = make_envelope(payload, subject=child_id, actor=actor, source="/tac/consent", time=self.now)
        self.tables.outbox.append(envelope)
        return envelope.id

    def _with_notices(self, stored: StoredConsent | None) -> StoredConsent | None:
        if stored is None:
            return None
        notices = {n: str(e) for (c, n), e in self.tables.notices.items() if c == stored.consent.consent_id}
        return StoredConsent(replace(stored.consent, notices=frozenset(notices)), stored.granted_event_id,
                             stored.withdrawal_event_id, notices)


class FakeUnits:
    """`Deps.units` for the fake: a write works on a copy of the tables and keeps it only when
    the block ends without raising, like a transaction."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0

    @contextmanager
    def __call__(self, deps: Deps, write: bool) -> Iterator[FakeUnitOfWork]:
        working = copy.deepcopy(self.tables)
        yield FakeUnitOfWork(deps, working)
        if write:
            self.tables = working
            self.commits += 1
