"""The freshness gate's rule: the consent copy may be decided on only once it has applied every
partition up to the snapshot of end offsets."""

from __future__ import annotations

from consent_policy.freshness import behind, by_topic, merge_applied

C, R = "tac.consent.v1", "tac.referrals.v1"


def test_a_copy_that_applied_every_partition_up_to_the_snapshot_is_fresh():
    assert behind({(C, 0): 5, (C, 1): 0, (R, 0): 7}, {(C, 0): 5, (R, 0): 9}) == {}


def test_a_partition_short_of_its_end_offset_is_behind_by_the_difference():
    assert behind({(C, 0): 5, (C, 1): 3, (R, 0): 7}, {(C, 0): 4, (C, 1): 3, (R, 0): 7}) == {(C, 0): 1}


def test_a_partition_with_messages_never_applied_counts_from_zero():
    assert behind({(C, 2): 3, (R, 1): 0}, {}) == {(C, 2): 3}


def test_applied_is_the_furthest_of_the_groups_commits_and_this_processs_own_positions():
    committed = {(C, 0): 10, (C, 1): None, (R, 0): 2}
    local = {(C, 1): 4, (R, 0): 6, (C, 0): 8}
    assert merge_applied(committed, local) == {(C, 0): 10, (C, 1): 4, (R, 0): 6}
    assert behind({(C, 0): 10, (C, 1): 5, (R, 0): 6}, merge_applied(committed, local)) == {(C, 1): 1}


def test_a_partition_without_a_commit_is_not_taken_as_applied():
    assert behind({(C, 0): 1}, merge_applied({(C, 0): None})) == {(C, 0): 1}


def test_the_gauge_sums_the_lag_per_topic_without_partition_or_key():
    assert by_topic({(C, 0): 2, (C, 3): 5, (R, 1): 1}) == {C: 7, R: 1}
