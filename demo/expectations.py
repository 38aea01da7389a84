"""What SCENARIO.md says each person should see, read straight from its consent table and its
team — written apart from the consent service's decision so that the demo and the e2e tests
check the system against the story, not against itself."""

from __future__ import annotations

from demo.cast import Person
from demo.scenario import ALL_CATEGORIES, Entry, Story
from schemas.vocabulary import Agency, Category

# Consents in force at the end of the story: label -> (recipient agencies, organisations, categories).
# C1c (health visiting, with `slt`) was withdrawn in step 11 and replaced by C1d, without `slt`.
CONSENTS_IN_FORCE = {
    "C1a": ({"area_senco"}, set(), {"concern", "referral", "progress"}),
    "C1b": (set(), {"riverside-slt"}, {"concern", "referral", "slt", "progress"}),
    "C1s": (set(), {"sunflower-nursery"}, {"referral", "slt", "health", "progress"}),
    "C1d": ({"health_visiting"}, set(), {"concern", "health", "progress"}),
    "C2": ({"la_sen_team", "ep_service"}, set(), set(ALL_CATEGORIES)),
}
# Until step 11, the health visitors' consent C1c also covered `slt` (and then C1d replaced it).
CONSENT_BEFORE_WITHDRAWAL = {"C1c": ({"health_visiting"}, set(), {"concern", "health", "progress", "slt"})}
WITHDRAWAL_LABEL = "consent C1c withdrawn"

SETTING = "sunflower-nursery"
# The category of every consent-topic event (schemas.events.consent): the story's grants and withdrawal.
CONSENT_CATEGORY = str(Category.CONSENT)
# Entries that answer a request the nursery made (rule 3, own_request).
ANSWERS_TO_THE_SETTING = {"area SENCO referral accepted", "SLT referral accepted", "EHC assessment started"}


def team_at(story: Story, entry: Entry) -> set[str]:
    """The organisations on the team when `entry` was made: the setting from registration,
    then each organisation from its "joined the team" entry on (nobody leaves in the story)."""
    labels = [e.label for e in story.entries]
    upto = labels.index(entry.label)
    return {SETTING} | {e.joined_organisation_id for e in story.entries[: upto + 1] if e.joined_organisation_id}


def _team_at_end(story: Story) -> set[str]:
    return {SETTING} | {e.joined_organisation_id for e in story.entries if e.joined_organisation_id}


def _basis(person: Person, entry: Entry, story: Story, consents: dict, team: set[str]) -> str | None:
    if person.agency is Agency.PARENT:
        return "parent"
    if entry.author.organisation_id is not None and entry.author.organisation_id == person.organisation_id:
        return "own"
    if person.organisation_id == SETTING and entry.label in ANSWERS_TO_THE_SETTING:
        return "own_request"
    if person.organisation_id not in team:
        return None
    permitting = [story.consents[label] for label, (agencies, organisations, categories) in consents.items()
                  if (str(person.agency) in agencies or person.organisation_id in organisations)
                  and entry.category in categories]
    return f"consent:{min(permitting)}" if permitting else None


def expected_basis(person: Person, entry: Entry, story: Story) -> str | None:
    return _basis(person, entry, story, CONSENTS_IN_FORCE, _team_at_end(story))


def may_be_notified(person: Person, entry: Entry, story: Story) -> bool:
    """Notifications go out when the entry is new: for a case fact the team is the team of that
    moment (team events travel in the entry's own partition, in order); a consent may be any in
    force at the end or, before the withdrawal, C1c (consent events travel on another topic, so a
    later grant may already be known when an earlier entry is processed). For the same reason an
    entry about consent (a grant or a withdrawal, on tac.consent.v1) may be decided with a team
    that later joins already applied: any team up to the end's (nobody leaves in the story).
    Which of these a run shows depends on how far behind each topic the consumer is, e.g. on a
    broker that still holds earlier runs' events."""
    team = _team_at_end(story) if entry.category == CONSENT_CATEGORY else team_at(story, entry)
    if _basis(person, entry, story, CONSENTS_IN_FORCE, team) is not None:
        return True
    labels = [e.label for e in story.entries]
    if labels.index(entry.label) > labels.index(WITHDRAWAL_LABEL):
        return False
    return _basis(person, entry, story, CONSENT_BEFORE_WITHDRAWAL, team) is not None
