"""When to try a failed delivery again, and when to give up.

Exponential backoff: attempt n (1-based) that failed is retried after base·2^(n-1) seconds,
capped at `max_delay_s`. After `max_attempts` failures the notification has failed: it is
reported (NotificationFailed) and parked on the dead-letter topic. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retry delays must not be negative")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay_after(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure before the next try."""
        if failed_attempts < 1:
            return 0.0
        # Cap the exponent first: 2**10000 is an overflow, not a long wait.
        return min(self.max_delay_s, self.base_delay_s * (2 ** min(failed_attempts - 1, 62)))

    def gives_up_after(self, failed_attempts: int) -> bool:
        return failed_attempts >= self.max_attempts
