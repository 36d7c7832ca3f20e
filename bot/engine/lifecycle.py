"""The daemon's lifecycle as events for the operator: up and ready, and stopping (with why).

Published by the composition root (`bot.app` once ready) and the service (`bot.service` when a stop
signal arrives), never by trading code. The account is masked (`****1234`) before it leaves here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.values import TradingState, Venue


def mask_account(account: str) -> str:
    """`1234567890` → `****7890`: only the last 4 characters are shown (`-` when none is configured)."""
    account = account.strip()
    if not account:
        return "-"
    return "****" + (account[-4:] if len(account) > 4 else "")


@dataclass(frozen=True, slots=True)
class DaemonStarted:
    """The daemon recovered, reconciled and subscribed: it trades from now on."""

    mode: str
    account: str  # masked with `mask_account`
    venue: Venue
    strategies: tuple[str, ...]
    state: TradingState
    time: datetime
    calendar_ends: date | None = None  # the last day the trading calendar covers (no trading after it)

    @property
    def calendar_days_left(self) -> int | None:
        """Days until the calendar data runs out (the operator must add next year's closures first)."""
        return None if self.calendar_ends is None else (self.calendar_ends - self.time.date()).days


CALENDAR_WARN_DAYS = 31  # from December on, the start-up notice says next year's closures are missing


@dataclass(frozen=True, slots=True)
class DaemonStopping:
    """A stop began (signal or planned end); in-flight orders settle before the process exits."""

    reason: str
    time: datetime
