"""The consent decision: may this viewer see this entry of a child's timeline, now, and why.

``decide(viewer, entry, now, state)`` applies rules 1–6 of DESIGN §3 at read time on the
current ``ConsentState`` (``consent_policy.state``) and returns a ``Decision`` that carries the
basis of a permit or the reason for a denial. HM Government's information-sharing advice (2024)
asks practitioners to record why they did or did not share; the basis and reason are that
record.

Pure: it imports the contracts and the standard library, never Kafka, a database or a web
framework, and does no I/O — so every service that enforces it runs the very same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consent_policy.records import Entry, Viewer, require_aware
from consent_policy.state import ConsentState
from schemas.vocabulary import Category

__all__ = [
    "BASIS_OWN",
    "BASIS_OWN_REQUEST",
    "BASIS_PARENT",
    "CONSENT_STATE_HELD",
    "NOT_ON_TEAM",
    "NO_ACTIVE_CONSENT",
    "NOT_PARENT_OF_CHILD",
    "UNKNOWN_CATEGORY",
    "Decision",
    "Entry",
    "Viewer",
    "decide",
]

BASIS_PARENT = "parent"
BASIS_OWN = "own"
BASIS_OWN_REQUEST = "own_request"
_SAFEGUARDING = "safeguarding"
_CONSENT = "consent"

# Deny reason codes (the part of Decision.reason before the first colon).
UNKNOWN_CATEGORY = "unknown_category"
NOT_PARENT_OF_CHILD = "not_parent_of_child"
NO_ACTIVE_CONSENT = "no_active_consent"
NOT_ON_TEAM = "not_on_team"
CONSENT_STATE_HELD = "consent_state_held"

# Only the data categories a parent can consent to (DESIGN §3) can ever be shown. Anything
# else — a typo, a category from a newer contract version, `audit` — is denied to everyone,
# parents and authors included: deny is the default.
_CATEGORIES: frozenset[str] = frozenset(c.value for c in Category)


@dataclass(frozen=True)
class Decision:
    """``permitted`` with its ``basis`` ("parent", "own", "own_request", "safeguarding:<grant id>",
    "consent:<consent id>"), or a denial (``basis`` None).

    ``reason`` is always ``"<code>: <words>"``: for a permit the code is the basis kind, for a
    denial one of ``unknown_category``, ``not_parent_of_child``, ``consent_state_held``,
    ``not_on_team``, ``no_active_consent``.
    """

    permitted: bool
    basis: str | None
    reason: str

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0]


def _permit(basis: str, words: str) -> Decision:
    return Decision(True, basis, f"{basis.split(':', 1)[0]}: {words}")


def _deny(code: str, words: str) -> Decision:
    return Decision(False, None, f"{code}: {words}")


def decide(viewer: Viewer, entry: Entry, now: datetime, state: ConsentState) -> Decision:
    """DESIGN §3 rules, first match wins: parent > own > own request > safeguarding >
    team and consent > deny.

    When several safeguarding grants (or, failing those, several consents) permit, the basis
    is the one with the lowest id (UUID order), so every service names the same basis for the
    same state whatever order the events arrived in.
    """
    require_aware("now", now)
    category = entry.category
    if category not in _CATEGORIES:
        return _deny(UNKNOWN_CATEGORY, f"{category!r} is not a category a parent can consent to")

    # Rule 1: a parent with parental responsibility sees everything about their child.
    if viewer.is_parent:
        if entry.child_id in viewer.children:
            return _permit(BASIS_PARENT, "parent with parental responsibility for the child")
        # A parent is not an organisation: rules 2-4 never apply to them.
        return _deny(NOT_PARENT_OF_CHILD, "the viewer does not hold parental responsibility for this child")

    # Rule 2: an organisation always sees its own records. A parent-authored entry (no
    # organisation) is nobody's "own".
    if entry.author_organisation_id is not None and entry.author_organisation_id == viewer.organisation_id:
        return _permit(BASIS_OWN, f"authored by the viewer's organisation {viewer.organisation_id}")

    # Rule 3: an answer to a request the organisation made (its referral accepted, declined,
    # withdrawn or closed; the advice it asked for) is part of its own work.
    if entry.answers_request_of is not None and entry.answers_request_of == viewer.organisation_id:
        return _permit(BASIS_OWN_REQUEST, f"answers a request made by the viewer's organisation {viewer.organisation_id}")

    # A held child (consent_policy.holds: this copy could not apply a message that may restrict
    # access): rules 4 and 5 rest on the copy of the consent state (safeguarding grants, consent,
    # team), so they fail closed; rules 1-3 above rest on no consent and still apply.
    if state.is_held(entry.child_id):
        return _deny(CONSENT_STATE_HELD, "this child's consent state is held: a message that may restrict "
                     "access could not be applied, so consent-based access is closed until a person releases it")

    # Rule 4: break-glass safeguarding access, unexpired, for this child and organisation.
    grants = state.permitting_grants(viewer, entry, now)
    if grants:
        grant_id = min(grants)
        return _permit(f"{_SAFEGUARDING}:{grant_id}", f"safeguarding access {grant_id} for organisation {viewer.organisation_id}")

    # Rule 5: on the child's team now, and an active consent naming the organisation or its
    # agency covers the category. Consent says who may see; the team says who does work with
    # the child — an agency-kind consent never reaches an organisation outside the team.
    consents = state.permitting_consents(viewer, entry, now)
    if consents:
        if not state.is_team_member(entry.child_id, viewer.organisation_id, now):
            return _deny(NOT_ON_TEAM, f"organisation {viewer.organisation_id} is not on this child's team")
        consent_id = min(consents)
        return _permit(f"{_CONSENT}:{consent_id}", f"consent {consent_id} covers {category}")

    # Rule 6: deny by default.
    return _deny(NO_ACTIVE_CONSENT, _why_no_consent(viewer, entry, now, state))


def _why_no_consent(viewer: Viewer, entry: Entry, now: datetime, state: ConsentState) -> str:
    """Words for the access record: which consents came closest and why they do not apply."""
    base = (f"no active consent for this child names organisation {viewer.organisation_id} "
            f"or agency {viewer.agency.value} for category {entry.category}")
    notes = []
    for cid in sorted(state.consent_ids_for(entry.child_id)):
        versions = state.consent_versions(cid)
        if not all(v.names(viewer) and entry.category in v.categories for v in versions):
            continue
        if cid in state.withdrawn:
            notes.append(f"{cid} withdrawn")
        elif cid in state.expired or any(now >= v.expires_at for v in versions):
            notes.append(f"{cid} expired")
        elif any(now < v.valid_from for v in versions):
            notes.append(f"{cid} not yet started")
    return base + (f" ({'; '.join(notes)})" if notes else "")
