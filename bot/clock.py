"""Clocks: the only source of "now" for trading logic, so a day can be replayed in seconds.

`LiveClock` is the wall clock in Asia/Seoul; `SimClock` runs from a chosen instant at a chosen
speed (the simulator, the demo); `ManualClock` only moves when a test advances it. Timers that
belong to the market (token expiry, session times) sleep on the clock; network timeouts do not.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import anyio

KST = ZoneInfo("Asia/Seoul")


class Clock(Protocol):
    """What trading code may ask about time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware in Asia/Seoul."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Wait until this clock reads `when` (returns at once if already past)."""
        ...


class LiveClock:
    """The real wall clock, in Asia/Seoul."""

    def now(self) -> datetime:
        """The current wall-clock instant in KST."""
        return datetime.now(KST)

    async def sleep(self, seconds: float) -> None:
        """Sleep for real seconds."""
        await anyio.sleep(max(0.0, seconds))

    async def sleep_until(self, when: datetime) -> None:
        """Sleep until the wall clock reaches `when`."""
        await anyio.sleep(max(0.0, (when - self.now()).total_seconds()))


class SimClock:
    """Simulated time that starts at `start` and runs `speed` times faster than the wall clock."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        if not speed > 0:
            raise ValueError(f"SimClock speed must be > 0, got {speed}")
        self._origin = start.astimezone(KST)
        self._mono0 = time.monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        """How many simulated seconds pass per wall-clock second."""
        return self._speed

    def now(self) -> datetime:
        """The simulated instant."""
        elapsed = (time.monotonic() - self._mono0) * self._speed
        return self._origin + timedelta(seconds=elapsed)

    def jump(self, delta: timedelta) -> None:
        """Move simulated time forward (or back) at once, e.g. to skip a lunch-less idle hour."""
        self._origin += delta

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of simulated time."""
        await anyio.sleep(max(0.0, seconds) / self._speed)

    async def sleep_until(self, when: datetime) -> None:
        """Sleep until simulated time reaches `when`."""
        await self.sleep((when - self.now()).total_seconds())


class ManualClock:
    """A clock that moves only when told to; sleepers wake when `advance` passes their deadline."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock start must be timezone-aware")
        self._now = start.astimezone(KST)
        self._changed = anyio.Event()

    def now(self) -> datetime:
        """The instant the clock was last set to."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self.set(self._now + timedelta(seconds=seconds))

    def set(self, when: datetime) -> None:
        """Set the clock to `when` (may not go backwards)."""
        when = when.astimezone(KST)
        if when < self._now:
            raise ValueError("ManualClock cannot go backwards")
        self._now = when
        self._changed.set()
        self._changed = anyio.Event()

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by at least `seconds`."""
        await self.sleep_until(self._now + timedelta(seconds=max(0.0, seconds)))

    async def sleep_until(self, when: datetime) -> None:
        """Wait until the clock reads `when` or later."""
        while self._now < when:
            await self._changed.wait()


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A timezone-aware KST datetime; a readable constructor for tests and configs."""
    return datetime(year, month, day, hour, minute, second, tzinfo=KST)


def parse_kst_timestamp(text: str) -> datetime:
    """Parse Kiwoom's `YYYYMMDDHHMMSS` (always Korea time, e.g. `expires_dt`) into an aware datetime."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"expected a 14-digit KST timestamp YYYYMMDDHHMMSS, got {text!r}")
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=KST)


def format_kst_timestamp(when: datetime) -> str:
    """Format an instant as Kiwoom's `YYYYMMDDHHMMSS` in Korea time."""
    return when.astimezone(KST).strftime("%Y%m%d%H%M%S")
