"""Bounded retries with exponential backoff and jitter, for idempotent reads only.

Which errors are retried is decided by the caller (rest.py): reads retry on RateLimited,
BrokerUnreachable and OutcomeUnknown; orders never retry except the single token re-issue.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts a read gets and how long to wait between them (real seconds)."""

    attempts: int = 3
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retry delays must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter}")

    def delay_s(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1 = first retry): base·2^(retry-1), capped, ± jitter."""
        raw = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry - 1))
        return raw * (1 - self.jitter * rng.random())
