"""Retries back off exponentially, up to a cap, and give up after the last attempt."""

from __future__ import annotations

import pytest

from services.notifications.domain.retry import RetryPolicy


def test_each_failure_doubles_the_wait_up_to_the_cap():
    policy = RetryPolicy(base_delay_s=2, max_delay_s=30, max_attempts=10)

    assert [policy.delay_after(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_a_huge_attempt_count_is_capped_not_an_overflow():
    assert RetryPolicy(base_delay_s=1, max_delay_s=60).delay_after(10_000) == 60


def test_it_gives_up_after_the_last_attempt_only():
    policy = RetryPolicy(max_attempts=3)

    assert [policy.gives_up_after(n) for n in (1, 2, 3)] == [False, False, True]


def test_a_policy_with_no_attempts_is_refused():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
