"""What SCENARIO.md says each person should see at the end of the story, read straight from
its consent table — written apart from the consent service's decision so that the demo and
the e2e tests check the system against the story, not against itself."""

from __future__ import annotations

from demo.cast import Person
from demo.scenario import ALL_CATEGORIES, Entry, Story
from schemas.vocabulary import Agency

# Consents in force at the end of the story: label -> (recipient agencies, organisations, categories).
# C1c (health visiting, with `slt`) was withdrawn in step 11 and replaced by C1d, without `slt`.
CONSENTS_IN_FORCE = {
    "C1a": ({"area_senco"}, set(), {"concern", "referral", "progress"}),
    "C1b": (set(), {"riverside-slt"}, {"concern", "referral", "slt", "progress"}),
    "C1d": ({"health_visiting"}, set(), {"concern", "health", "progress"}),
    "C2": ({"la_sen_team", "ep_service"}, set(), set(ALL_CATEGORIES)),
}


def expected_basis(person: Person, entry: Entry, story: Story) -> str | None:
    if person.agency is Agency.PARENT:
        return "parent"
    if entry.author.organisation_id is not None and entry.author.organisation_id == person.organisation_id:
        return "own"
    for label, (agencies, organisations, categories) in CONSENTS_IN_FORCE.items():
        named = str(person.agency) in agencies or person.organisation_id in organisations
        if named and entry.category in categories:
            return f"consent:{story.consents[label]}"
    return None


# Until step 11, the health visitors' consent C1c also covered `slt` (and then C1d replaced it).
CONSENT_BEFORE_WITHDRAWAL = {"C1c": ({"health_visiting"}, set(), {"concern", "health", "progress", "slt"})}
WITHDRAWAL_LABEL = "consent C1c withdrawn"


def may_be_notified(person: Person, entry: Entry, story: Story) -> bool:
    """Notifications go out when the entry is new: what counts is the consent in force then.
    An entry made before the withdrawal may have been sent under C1c; after it, not."""
    if expected_basis(person, entry, story) is not None:
        return True
    labels = [e.label for e in story.entries]
    if labels.index(entry.label) > labels.index(WITHDRAWAL_LABEL):
        return False
    agencies, organisations, categories = CONSENT_BEFORE_WITHDRAWAL["C1c"]
    named = str(person.agency) in agencies or person.organisation_id in organisations
    return named and entry.category in categories
